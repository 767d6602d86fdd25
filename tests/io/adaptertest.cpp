// PEFT adapters: the three real adapters in ../shared/adapters (their facts are from their
// SOURCE.md, checked by hand against the files), factor orientation, and the PEFT writer.

#include "core/io/adapter.h"

#include "core/io/error.h"
#include "filesnapshot.h"
#include "shareddata.h"

#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <map>
#include <set>

using namespace lq;

Q_DECLARE_METATYPE(lq::DType)

namespace {

// Scales are alpha / r of small integers; anything above double rounding is a bug.
constexpr double kScaleTolerance = 1e-12;

float storedValue(const SafetensorsFile& file, const TensorEntry& entry, std::int64_t index)
{
    const std::size_t size = elementSize(entry.dtype);
    float value = 0;
    convertToFloat(entry.dtype, file.bytes(entry).subspan(std::size_t(index) * size, size),
                   std::span<float>(&value, 1));
    return value;
}

QByteArray readAll(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

bool copyFolder(const QString& from, const QString& to)
{
    QDir().mkpath(to);
    for (const QString& name : QDir(from).entryList(QDir::Files))
        if (!QFile::copy(from + '/' + name, to + '/' + name))
            return false;
    return true;
}

// An adapter_config.json with this text in `dir`.
bool writeConfig(const QTemporaryDir& dir, const char* json)
{
    QFile config(dir.filePath("adapter_config.json"));
    return config.open(QIODevice::WriteOnly) && config.write(json) == qint64(std::strlen(json));
}

std::vector<std::byte> bytesOf(const std::vector<float>& values, DType type)
{
    std::vector<std::byte> bytes(values.size() * elementSize(type));
    convertFromFloat(type, values, bytes);
    return bytes;
}

std::vector<float> ramp(std::size_t count, float start, float step)
{
    std::vector<float> values(count);
    for (std::size_t i = 0; i < count; ++i)
        values[i] = start + step * float(i);
    return values;
}

} // namespace

class AdapterTest : public QObject
{
    Q_OBJECT

private slots:
    void sharedAdapters_data();
    void sharedAdapters();
    void factorsFollowStorage_data();
    void factorsFollowStorage();
    void unchangedWriteIsByteIdentical_data();
    void unchangedWriteIsByteIdentical();
    void writeReplacedFactors();
    void refusesToWriteIntoSourceFolder();
    void defaultSpellingAndOtherTensors();
    void nonLinearFactorsAreKeptAside();
    void embeddingFactorsAreAModule();
    void doraMagnitudesWithoutFlagWarn_data();
    void doraMagnitudesWithoutFlagWarn();
    void layerOrderSortsByLayer();
    void otherTensorsOfEveryTypeAreKept();
    void configRankDisagreementWarns();
    void configPathMeansItsFolder();
    void inMemoryAdapter();
    void inMemoryOtherTensorsAreWritten();
};

void AdapterTest::sharedAdapters_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("modules");
    QTest::addColumn<int>("layers");
    QTest::addColumn<QString>("shapes"); // kind:m x n r, per kind
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<double>("scale");
    QTest::newRow("gptneo125m") << "gptneo125m-qv-r8-f32" << 24 << 12
                                << "q_proj:768x768r8 v_proj:768x768r8" << DType::F32 << 2.0;
    // Fused QKV of GPT-NeoX: one module per layer with B 6144 x 1, rank 1, stored F16.
    QTest::newRow("opencalm1b") << "opencalm1b-qkv-r1-f16" << 24 << 24
                                << "query_key_value:6144x2048r1" << DType::F16 << 32.0;
    // Grouped-query attention: v_proj's B has 256 rows where q_proj's has 2048.
    QTest::newRow("qwen2.5-3b") << "qwen2.5-3b-qv-r4-f32" << 72 << 36
                                << "q_proj:2048x2048r4 v_proj:256x2048r4" << DType::F32 << 2.0;
}

void AdapterTest::sharedAdapters()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QString, name);
    QFETCH(int, modules);
    QFETCH(int, layers);
    QFETCH(QString, shapes);
    QFETCH(DType, dtype);
    QFETCH(double, scale);

    const QString folder = lqtest::adaptersDir() + '/' + name;
    const Adapter adapter = Adapter::load(folder.toStdString());
    QCOMPARE(int(adapter.modules().size()), modules);
    QCOMPARE(adapter.warnings(), std::vector<std::string>());
    QVERIFY(adapter.otherTensors().empty());
    QVERIFY(adapter.config());
    QCOMPARE(adapter.safetensorsPath(), (folder + "/adapter_model.safetensors").toStdString());

    std::map<std::string, QString> expected;
    for (const QString& item : shapes.split(' ')) {
        const auto parts = item.split(':');
        expected[parts[0].toStdString()] = parts[1];
    }
    std::map<int, std::set<std::string>> kindsByLayer;
    std::int64_t parameters = 0;
    for (const LoraModule& module : adapter.modules()) {
        QVERIFY2(expected.count(module.kind), module.kind.c_str());
        QCOMPARE(QString("%1x%2r%3").arg(module.m).arg(module.n).arg(module.r),
                 expected[module.kind]);
        QCOMPARE(module.dtype, dtype);
        QVERIFY(module.scale);
        QVERIFY(std::abs(*module.scale - scale) < kScaleTolerance);
        QVERIFY(module.keyA == module.name + ".lora_A.weight");
        QVERIFY(module.keyB == module.name + ".lora_B.weight");
        QVERIFY(kindsByLayer[module.layer].insert(module.kind).second); // once per layer
        parameters += std::int64_t(module.r) * (module.m + module.n);
    }
    // Layers 0 .. layers-1, each with every kind.
    QCOMPARE(int(kindsByLayer.size()), layers);
    QCOMPARE(kindsByLayer.begin()->first, 0);
    QCOMPARE(kindsByLayer.rbegin()->first, layers - 1);
    for (const auto& [layer, kinds] : kindsByLayer)
        QCOMPARE(kinds.size(), expected.size());
    QCOMPARE(adapter.parameterCount(), parameters);
    QCOMPARE(adapter.storedBytes(), std::uint64_t(parameters) * elementSize(dtype));

    // The .safetensors path itself gives the same adapter (config found beside it).
    const Adapter direct = Adapter::load((folder + "/adapter_model.safetensors").toStdString());
    QCOMPARE(direct.modules().size(), adapter.modules().size());
    QVERIFY(direct.config());
    QCOMPARE(direct.modules().back().name, adapter.modules().back().name);
}

void AdapterTest::factorsFollowStorage_data()
{
    QTest::addColumn<QString>("name");
    if (!lqtest::haveShared())
        QTest::newRow("shared adapters absent") << QString();
    for (const QString& name : lqtest::sharedAdapterNames())
        QTest::newRow(qPrintable(name)) << name;
}

void AdapterTest::factorsFollowStorage()
{
    // Guards the orientation: safetensors is row-major, Eigen column-major. B(i, j) must be
    // element i * r + j of lora_B [m, r], A(i, j) element i * n + j of lora_A [r, n], exactly.
    LQ_REQUIRE_SHARED();
    QFETCH(QString, name);
    const Adapter adapter = Adapter::load((lqtest::adaptersDir() + '/' + name).toStdString());
    const SafetensorsFile& file = *adapter.file();
    for (std::size_t index : {std::size_t(0), std::size_t(1), adapter.modules().size() - 1}) {
        const LoraModule& module = adapter.modules()[index];
        const ModuleFactors f = adapter.factors(index);
        QCOMPARE(f.B.rows(), Eigen::Index(module.m));
        QCOMPARE(f.B.cols(), Eigen::Index(module.r));
        QCOMPARE(f.A.rows(), Eigen::Index(module.r));
        QCOMPARE(f.A.cols(), Eigen::Index(module.n));
        const TensorEntry& b = *file.find(module.keyB);
        const TensorEntry& a = *file.find(module.keyA);
        for (int i = 0; i < module.m; ++i)
            for (int j = 0; j < module.r; ++j)
                QCOMPARE(f.B(i, j), storedValue(file, b, std::int64_t(i) * module.r + j));
        for (int i = 0; i < module.r; ++i)
            for (int j = 0; j < module.n; ++j)
                QCOMPARE(f.A(i, j), storedValue(file, a, std::int64_t(i) * module.n + j));
        QVERIFY(f.B.norm() > 0 && f.A.norm() > 0); // trained adapters, not zero-initialised
    }
}

void AdapterTest::unchangedWriteIsByteIdentical_data()
{
    factorsFollowStorage_data();
}

void AdapterTest::unchangedWriteIsByteIdentical()
{
    // The PEFT writer with nothing replaced reproduces both files exactly.
    LQ_REQUIRE_SHARED();
    QFETCH(QString, name);
    const QString folder = lqtest::adaptersDir() + '/' + name;
    const Adapter adapter = Adapter::load(folder.toStdString());
    QTemporaryDir dir;
    writePeftAdapter(dir.filePath("out").toStdString(), adapter);
    for (const char* file : {"adapter_model.safetensors", "adapter_config.json"})
        QVERIFY2(readAll(dir.filePath(QString("out/") + file)) == readAll(folder + '/' + file),
                 file);
}

void AdapterTest::writeReplacedFactors()
{
    // New factors are converted to each tensor's stored dtype and land under the same names.
    LQ_REQUIRE_SHARED();
    const QString folder = lqtest::adaptersDir() + "/opencalm1b-qkv-r1-f16";
    const Adapter adapter = Adapter::load(folder.toStdString());
    std::vector<ModuleFactors> replaced;
    for (std::size_t i = 0; i < adapter.modules().size(); ++i) {
        ModuleFactors f = adapter.factors(i);
        f.B *= 2.0f; // exact in F16: a power of two far from overflow
        f.A = -f.A;
        replaced.push_back(std::move(f));
    }
    QTemporaryDir dir;
    const QString out = dir.filePath("out");
    writePeftAdapter(out.toStdString(), adapter, &replaced);
    const Adapter written = Adapter::load(out.toStdString());
    QCOMPARE(written.modules().size(), adapter.modules().size());
    QCOMPARE(written.config()->rawJson, adapter.config()->rawJson);
    QCOMPARE(written.file()->metadata(), adapter.file()->metadata());
    for (std::size_t i = 0; i < adapter.modules().size(); ++i) {
        QCOMPARE(written.modules()[i].dtype, DType::F16);
        const ModuleFactors f = written.factors(i);
        QVERIFY(f.B == replaced[i].B);
        QVERIFY(f.A == replaced[i].A);
    }

    // Given as a function (what exports use, so that they hold one module's floats at a time),
    // each module's factors are asked for once and the file is the same.
    std::size_t asked = 0;
    const QString lazy = dir.filePath("lazy");
    writePeftAdapter(lazy.toStdString(), adapter, [&](std::size_t i) {
        ++asked;
        return replaced[i];
    });
    QCOMPARE(asked, adapter.modules().size());
    QVERIFY(readAll(lazy + "/adapter_model.safetensors") ==
            readAll(out + "/adapter_model.safetensors"));

    // Wrong shapes are refused, and the folder the write would have created is not left behind.
    replaced[3].B.resize(5, 1);
    const QString other = dir.filePath("other");
    QVERIFY_THROWS_EXCEPTION(Error, writePeftAdapter(other.toStdString(), adapter, &replaced));
    QVERIFY(!QFileInfo::exists(other));
}

void AdapterTest::refusesToWriteIntoSourceFolder()
{
    // Guards: exporting "over" the source would destroy the only copy of the adapter.
    LQ_REQUIRE_SHARED();
    QTemporaryDir dir;
    const QString copy = dir.filePath("adapter");
    QVERIFY(copyFolder(lqtest::adaptersDir() + "/gptneo125m-qv-r8-f32", copy));
    const lqtest::FileSnapshot before = lqtest::snapshot(copy);
    const Adapter adapter = Adapter::load(copy.toStdString());
    for (const QString& target : {copy, copy + '/', dir.filePath("./adapter/../adapter")}) {
        try {
            writePeftAdapter(target.toStdString(), adapter);
            QFAIL(qPrintable("wrote into the source folder via " + target));
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("refusing to write into the folder") !=
                         std::string::npos,
                     e.what());
        }
    }
    QCOMPARE(lqtest::snapshot(copy), before);
}

void AdapterTest::defaultSpellingAndOtherTensors()
{
    // `.lora_A.default.weight` pairs like `.lora_A.weight`; a classifier head (modules_to_save)
    // and the metadata survive a write with replaced factors unchanged.
    QTemporaryDir dir;
    const QString folder = dir.filePath("in");
    QDir().mkpath(folder);
    const std::string base = "base_model.model.model.layers.7.mlp.down_proj";
    const std::vector<float> head = ramp(12, -1.0f, 0.125f);
    writeSafetensors((folder + "/adapter_model.safetensors").toStdString(),
                     {{base + ".lora_A.default.weight",
                       DType::BF16,
                       {2, 5},
                       bytesOf(ramp(10, 0.5f, 0.25f), DType::BF16)},
                      {"base_model.model.score.modules_to_save.default.weight",
                       DType::F32,
                       {3, 4},
                       bytesOf(head, DType::F32)},
                      {base + ".lora_B.default.weight",
                       DType::BF16,
                       {3, 2},
                       bytesOf(ramp(6, -0.75f, 0.25f), DType::BF16)}},
                     {{"format", "pt"}, {"origin", "test"}});
    const Adapter adapter = Adapter::load(folder.toStdString());
    QCOMPARE(adapter.modules().size(), std::size_t(1));
    const LoraModule& module = adapter.modules()[0];
    QCOMPARE(module.name, base);
    QCOMPARE(module.kind, std::string("down_proj"));
    QCOMPARE(module.layer, 7);
    QCOMPARE(module.m, 3);
    QCOMPARE(module.n, 5);
    QCOMPARE(module.r, 2);
    QCOMPARE(module.dtype, DType::BF16);
    QCOMPARE(adapter.otherTensors(),
             std::vector<std::string>{"base_model.model.score.modules_to_save.default.weight"});

    std::vector<ModuleFactors> replaced{adapter.factors(0)};
    replaced[0].B.setConstant(1.5f);
    const QString out = dir.filePath("out");
    writePeftAdapter(out.toStdString(), adapter, &replaced);
    const auto written = SafetensorsFile::open((out + "/adapter_model.safetensors").toStdString());
    QCOMPARE(written.metadata(), adapter.file()->metadata());
    QCOMPARE(written.tensors().size(), std::size_t(3));
    QCOMPARE(written.tensors()[1].name, adapter.file()->tensors()[1].name); // order kept
    QCOMPARE(written.toFloat(written.tensors()[1]), head);
    QCOMPARE(written.toFloat(*written.find(base + ".lora_B.default.weight")),
             std::vector<float>(6, 1.5f));
    QVERIFY(!QFileInfo::exists(out + "/adapter_config.json")); // none to copy
}

void AdapterTest::nonLinearFactorsAreKeptAside()
{
    // A convolution LoRA (4-D factors) is not a module we can quantize: kept, with a warning.
    QTemporaryDir dir;
    const std::string path = dir.filePath("adapter_model.safetensors").toStdString();
    writeSafetensors(
        path,
        {{"m.conv.lora_A.weight", DType::F32, {2, 3, 1, 1}, bytesOf(ramp(6, 1, 1), DType::F32)},
         {"m.conv.lora_B.weight", DType::F32, {4, 2, 1, 1}, bytesOf(ramp(8, 1, 1), DType::F32)},
         {"m.fc.lora_A.weight", DType::F32, {2, 3}, bytesOf(ramp(6, 1, 1), DType::F32)},
         {"m.fc.lora_B.weight", DType::F32, {4, 2}, bytesOf(ramp(8, 1, 1), DType::F32)}},
        {});
    const Adapter adapter = Adapter::load(path);
    QCOMPARE(adapter.modules().size(), std::size_t(1));
    QCOMPARE(adapter.modules()[0].name, std::string("m.fc"));
    QCOMPARE(adapter.modules()[0].layer, -1);
    QCOMPARE(adapter.otherTensors().size(), std::size_t(2));
    QCOMPARE(adapter.warnings().size(), std::size_t(2)); // no config, and the conv module
    QVERIFY(QString::fromStdString(adapter.warnings()[1]).contains("m.conv"));
}

void AdapterTest::embeddingFactorsAreAModule()
{
    // PEFT stores an embedding layer's factors as bare parameters (no `.weight`): A is
    // r x vocabulary, B is dimension x r. They are a module like a linear pair, and a write
    // keeps their names; a DoRA magnitude vector stays a tensor copied through, and a warning
    // says that the errors leave it out.
    QTemporaryDir dir;
    const std::string embed = "base_model.model.model.embed_tokens";
    const std::string q = "base_model.model.model.layers.0.self_attn.q_proj";
    writeSafetensors(
        dir.filePath("adapter_model.safetensors").toStdString(),
        {{embed + ".lora_embedding_A",
          DType::F32,
          {2, 40},
          bytesOf(ramp(80, -1, 0.025f), DType::F32)},
         {embed + ".lora_embedding_B",
          DType::F32,
          {6, 2},
          bytesOf(ramp(12, 0.5f, 0.1f), DType::F32)},
         {q + ".lora_A.weight", DType::F32, {2, 6}, bytesOf(ramp(12, 1, 1), DType::F32)},
         {q + ".lora_B.weight", DType::F32, {6, 2}, bytesOf(ramp(12, 1, 1), DType::F32)},
         {q + ".lora_magnitude_vector", DType::F32, {6}, bytesOf(ramp(6, 1, 1), DType::F32)}},
        {});
    QVERIFY(writeConfig(dir, R"({"r": 2, "lora_alpha": 4, "use_dora": true})"));

    const Adapter adapter = Adapter::load(dir.path().toStdString());
    QCOMPARE(adapter.warnings().size(), std::size_t(1));
    QVERIFY(QString::fromStdString(adapter.warnings()[0]).contains("use_dora"));
    QCOMPARE(adapter.modules().size(), std::size_t(2));
    const LoraModule& e = adapter.modules()[0];
    QCOMPARE(e.name, embed);
    QCOMPARE(e.kind, std::string("embed_tokens"));
    QCOMPARE(e.m, 6);
    QCOMPARE(e.n, 40);
    QCOMPARE(e.r, 2);
    QCOMPARE(e.scale, std::optional<double>(2.0));
    QCOMPARE(adapter.factors(0).A(1, 39), ramp(80, -1, 0.025f)[79]); // row-major r x vocabulary
    QCOMPARE(adapter.otherTensors(), std::vector<std::string>{q + ".lora_magnitude_vector"});

    std::vector<ModuleFactors> replaced{adapter.factors(0), adapter.factors(1)};
    replaced[0].A.setConstant(0.25f);
    const QString out = dir.filePath("out");
    writePeftAdapter(out.toStdString(), adapter, &replaced);
    const Adapter back = Adapter::load(out.toStdString());
    QCOMPARE(back.modules().size(), std::size_t(2));
    QCOMPARE(back.modules()[0].keyA, embed + ".lora_embedding_A");
    QCOMPARE(back.modules()[0].keyB, embed + ".lora_embedding_B");
    QVERIFY(back.factors(0).A == replaced[0].A);
    QVERIFY(back.factors(0).B == adapter.factors(0).B);
}

// Magnitude vectors in a file whose config does not set use_dora (or that has no config): the
// adapter still loads as plain LoRA, but a warning says what the file holds and what is missing,
// so that nobody deploys it believing it is plain LoRA. With use_dora set, the one warning is
// the DoRA one (embeddingFactorsAreAModule).
void AdapterTest::doraMagnitudesWithoutFlagWarn_data()
{
    QTest::addColumn<QString>("config"); // empty: no adapter_config.json
    QTest::addColumn<QString>("reason");
    QTest::newRow("flag missing") << R"({"r": 2, "lora_alpha": 4})"
                                  << "adapter_config.json does not set use_dora";
    QTest::newRow("flag false") << R"({"r": 2, "lora_alpha": 4, "use_dora": false})"
                                << "adapter_config.json does not set use_dora";
    QTest::newRow("no config") << ""
                               << "there is no config to set use_dora";
}

void AdapterTest::doraMagnitudesWithoutFlagWarn()
{
    QFETCH(QString, config);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    const std::string q = "base_model.model.model.layers.0.self_attn.q_proj";
    const std::string v = "base_model.model.model.layers.0.self_attn.v_proj";
    std::vector<TensorData> tensors;
    for (const std::string& prefix : {q, v}) {
        tensors.push_back(
            {prefix + ".lora_A.weight", DType::F32, {2, 6}, bytesOf(ramp(12, 1, 1), DType::F32)});
        tensors.push_back(
            {prefix + ".lora_B.weight", DType::F32, {6, 2}, bytesOf(ramp(12, 1, 1), DType::F32)});
        tensors.push_back({prefix + ".lora_magnitude_vector",
                           DType::F32,
                           {6},
                           bytesOf(ramp(6, 1, 1), DType::F32)});
    }
    const QString file = dir.filePath("adapter_model.safetensors");
    writeSafetensors(file.toStdString(), tensors, {});
    if (!config.isEmpty())
        QVERIFY(writeConfig(dir, config.toUtf8().constData()));

    const Adapter adapter = Adapter::load(dir.path().toStdString());
    QCOMPARE(adapter.modules().size(), std::size_t(2));
    QCOMPARE(adapter.otherTensors().size(), std::size_t(2));
    QString dora;
    for (const std::string& warning : adapter.warnings())
        if (QString::fromStdString(warning).contains("magnitude"))
            dora = QString::fromStdString(warning);
    QVERIFY2(dora.startsWith(file + " holds 2 DoRA magnitude vectors (first: " +
                             QString::fromStdString(q) + ".lora_magnitude_vector)"),
             qPrintable(dora));
    QVERIFY2(dora.contains(reason), qPrintable(dora));
    QVERIFY(dora.contains("quantized as plain LoRA"));
}

// Listings show modules by layer, those without one (an embedding, lm_head) last, and keep
// the file's order within a layer (q before v when the file has it so).
void AdapterTest::layerOrderSortsByLayer()
{
    QCOMPARE(layerIndexOf("base_model.model.model.layers.12.self_attn.q_proj"), 12);
    QCOMPARE(layerIndexOf("base_model.model.lm_head"), -1);
    QCOMPARE(layerIndexOf("transformer.h.0.attn.c_attn"), 0);
    QCOMPARE(layerOrder({}), std::vector<int>{});
    //                  0   1   2  3   4  5   6
    QCOMPARE(layerOrder({0, 0, -1, 10, 10, 2, 1}), (std::vector<int>{0, 1, 6, 5, 3, 4, 2}));
}

// Tensors beside the LoRA factors can have any safetensors type (position ids as I64, a mask as
// BOOL, an 8-bit float head): the adapter loads, and a written adapter keeps them byte for byte.
void AdapterTest::otherTensorsOfEveryTypeAreKept()
{
    QTemporaryDir dir;
    std::vector<TensorData> tensors{
        {"x.q_proj.lora_A.weight", DType::F32, {2, 3}, bytesOf(ramp(6, 1, 1), DType::F32)},
        {"x.q_proj.lora_B.weight", DType::F32, {4, 2}, bytesOf(ramp(8, 1, 1), DType::F32)}};
    for (const DType type : {DType::I64, DType::Bool, DType::F8E5M2, DType::U32, DType::I16}) {
        std::vector<std::byte> bytes(2 * 3 * elementSize(type));
        for (std::size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = std::byte(i * 37 + 11);
        tensors.push_back({"x.buffer_" + std::string(dtypeName(type)), type, {2, 3}, bytes});
    }
    writeSafetensors(dir.filePath("adapter_model.safetensors").toStdString(), tensors, {});
    const Adapter adapter = Adapter::load(dir.path().toStdString());
    QCOMPARE(adapter.modules().size(), std::size_t(1));
    QCOMPARE(adapter.otherTensors().size(), std::size_t(5));

    std::vector<ModuleFactors> replaced{adapter.factors(0)};
    replaced[0].A.setConstant(0.5f);
    const QString out = dir.filePath("out");
    writePeftAdapter(out.toStdString(), adapter, &replaced);
    const auto written = SafetensorsFile::open((out + "/adapter_model.safetensors").toStdString());
    for (std::size_t i = 2; i < tensors.size(); ++i) {
        const TensorEntry* entry = written.find(tensors[i].name);
        QVERIFY2(entry, tensors[i].name.c_str());
        QVERIFY(entry->dtype == tensors[i].dtype);
        QCOMPARE(entry->shape, tensors[i].shape);
        const auto bytes = written.bytes(*entry);
        QVERIFY(std::equal(bytes.begin(), bytes.end(), tensors[i].bytes.begin(),
                           tensors[i].bytes.end()));
    }
    QCOMPARE(Adapter::load(out.toStdString()).factors(0).A(1, 2), 0.5f);
}

void AdapterTest::configRankDisagreementWarns()
{
    QTemporaryDir dir;
    writeSafetensors(
        dir.filePath("adapter_model.safetensors").toStdString(),
        {{"x.q_proj.lora_A.weight", DType::F32, {2, 3}, bytesOf(ramp(6, 1, 1), DType::F32)},
         {"x.q_proj.lora_B.weight", DType::F32, {4, 2}, bytesOf(ramp(8, 1, 1), DType::F32)}},
        {});
    QVERIFY(writeConfig(dir, R"({"r": 8, "lora_alpha": 16})"));
    const Adapter adapter = Adapter::load(dir.path().toStdString());
    QCOMPARE(adapter.warnings().size(), std::size_t(1));
    QVERIFY(QString::fromStdString(adapter.warnings()[0]).contains("the config says 8"));
    // The scale follows the rank actually stored: 16 / 2.
    QCOMPARE(adapter.modules()[0].scale, std::optional<double>(8.0));
}

// File dialogs offer adapter_config.json; naming it loads the adapter of its folder, as the
// folder itself does, and errors still name the path given.
void AdapterTest::configPathMeansItsFolder()
{
    QTemporaryDir dir;
    writeSafetensors(
        dir.filePath("adapter_model.safetensors").toStdString(),
        {{"x.q_proj.lora_A.weight", DType::F32, {2, 3}, bytesOf(ramp(6, 1, 1), DType::F32)},
         {"x.q_proj.lora_B.weight", DType::F32, {4, 2}, bytesOf(ramp(8, 1, 1), DType::F32)}},
        {});
    QVERIFY(writeConfig(dir, R"({"r": 2, "lora_alpha": 4})"));
    const Adapter byFolder = Adapter::load(dir.path().toStdString());
    const Adapter byConfig = Adapter::load(dir.filePath("adapter_config.json").toStdString());
    QCOMPARE(byConfig.path(), byFolder.path());
    QCOMPARE(byConfig.safetensorsPath(), byFolder.safetensorsPath());
    QCOMPARE(byConfig.modules().size(), std::size_t(1));
    QCOMPARE(byConfig.modules()[0].scale, std::optional<double>(2.0));
    QVERIFY(byConfig.factors(0).B == byFolder.factors(0).B);

    QVERIFY(QFile::remove(dir.filePath("adapter_model.safetensors")));
    const std::string config = dir.filePath("adapter_config.json").toStdString();
    try {
        Adapter::load(config);
        QFAIL("loaded a folder without tensors");
    } catch (const Error& e) {
        QCOMPARE(e.file(), config);
        QVERIFY2(std::string(e.what()).find("adapter_model.safetensors") != std::string::npos,
                 e.what());
    }
}

void AdapterTest::inMemoryAdapter()
{
    // fromFactors fills shapes and name parts; written as F16 and read back, the values are the
    // F16 roundings of the originals.
    Eigen::MatrixXf b(5, 3), a(3, 7);
    for (int i = 0; i < b.size(); ++i)
        b.data()[i] = 0.1f * float(i) - 0.7f;
    for (int i = 0; i < a.size(); ++i)
        a.data()[i] = 0.03f * float(i % 11) - 0.2f;
    LoraModule module;
    module.name = "base_model.model.model.layers.2.self_attn.o_proj";
    module.dtype = DType::F16;
    AdapterConfig config = parseAdapterConfig(R"({"r": 3, "lora_alpha": 6})", "memory");
    const Adapter adapter = Adapter::fromFactors("memory", {module}, {{b, a}}, config);
    const LoraModule& m = adapter.modules()[0];
    QCOMPARE(m.m, 5);
    QCOMPARE(m.n, 7);
    QCOMPARE(m.r, 3);
    QCOMPARE(m.layer, 2);
    QCOMPARE(m.kind, std::string("o_proj"));
    QCOMPARE(m.keyB, m.name + ".lora_B.weight");
    QCOMPARE(m.scale, std::optional<double>(2.0));
    QVERIFY(adapter.factors(0).B == b);
    QCOMPARE(adapter.storedBytes(), std::uint64_t(2 * 3 * (5 + 7)));

    QTemporaryDir dir;
    writePeftAdapter(dir.path().toStdString(), adapter);
    const Adapter back = Adapter::load(dir.path().toStdString());
    QVERIFY(back.warnings().empty());
    const ModuleFactors f = back.factors(0);
    for (int i = 0; i < b.size(); ++i)
        QCOMPARE(f.B.data()[i], halfToFloat(floatToHalf(b.data()[i])));
    for (int i = 0; i < a.size(); ++i)
        QCOMPARE(f.A.data()[i], halfToFloat(floatToHalf(a.data()[i])));

    QVERIFY_THROWS_EXCEPTION(Error, Adapter::fromFactors("bad", {module}, {{b, a.topRows(2)}}));

    // fromSource (a packed file in the workbench) makes a module's factors each time they are
    // asked for, and a source that gives the wrong shapes is an error, not a wrong adapter.
    LoraModule sized = module;
    sized.m = 5;
    sized.n = 7;
    sized.r = 3;
    int made = 0;
    const Adapter decoded = Adapter::fromSource(
        "decoded", {sized},
        [&](std::size_t) {
            ++made;
            return ModuleFactors{b, a};
        },
        config);
    QCOMPARE(decoded.modules()[0].scale, std::optional<double>(2.0));
    QVERIFY(decoded.factors(0).A == a && decoded.factors(0).B == b);
    QCOMPARE(made, 2);
    const Adapter wrong = Adapter::fromSource("wrong", {sized}, [&](std::size_t) {
        return ModuleFactors{b, a.leftCols(6)};
    });
    QVERIFY_THROWS_EXCEPTION(Error, wrong.factors(0));
    sized.r = 0;
    QVERIFY_THROWS_EXCEPTION(Error, Adapter::fromSource("bad", {sized}, [&](std::size_t) {
                                 return ModuleFactors{b, a};
                             }));
}

void AdapterTest::inMemoryOtherTensorsAreWritten()
{
    // An adapter held in memory with the non-LoRA tensors and metadata of its source (a packed
    // file's): the PEFT writer writes them byte for byte, with dtype and shape, after the factors.
    Eigen::MatrixXf b = Eigen::MatrixXf::Constant(4, 2, 0.25f), a = Eigen::MatrixXf::Ones(2, 3);
    LoraModule module;
    module.name = "base_model.model.layers.0.q_proj";
    std::vector<std::byte> head(2 * 3 * 5);
    for (std::size_t i = 0; i < head.size(); ++i)
        head[i] = std::byte(i * 37 + 11); // any bits, NaN patterns included: never converted
    const std::vector<TensorData> others{
        {"base_model.model.score.modules_to_save.default.weight", DType::BF16, {3, 5}, head},
        {"base_model.model.step", DType::F64, {}, std::vector<std::byte>(8, std::byte(0x3f))}};
    const std::map<std::string, std::string> metadata{{"format", "pt"}, {"origin", "packed"}};
    const Adapter adapter =
        Adapter::fromFactors("memory", {module}, {{b, a}}, {}, others, metadata);
    QCOMPARE(adapter.otherTensors(), (std::vector<std::string>{others[0].name, others[1].name}));
    QCOMPARE(adapter.metadata(), metadata);

    // Unchanged and with replaced factors (what File > Export writes) alike.
    QTemporaryDir dir;
    const std::vector<ModuleFactors> replaced{{2 * b, a}};
    for (const bool replace : {false, true}) {
        const QString out = dir.filePath(replace ? "replaced" : "unchanged");
        writePeftAdapter(out.toStdString(), adapter, replace ? &replaced : nullptr);
        const Adapter back = Adapter::load(out.toStdString());
        QCOMPARE(back.file()->metadata(), metadata);
        QCOMPARE(back.otherTensors(), adapter.otherTensors());
        QCOMPARE(back.file()->tensors().size(), std::size_t(4));
        for (const TensorData& tensor : others) {
            const TensorEntry* entry = back.file()->find(tensor.name);
            QVERIFY2(entry, tensor.name.c_str());
            QCOMPARE(entry->dtype, tensor.dtype);
            QCOMPARE(entry->shape, tensor.shape);
            const auto bytes = back.file()->bytes(*entry);
            QVERIFY(std::vector<std::byte>(bytes.begin(), bytes.end()) == tensor.bytes);
        }
        QVERIFY(back.factors(0).B == (replace ? replaced[0].B : b));
    }

    // Without them, the file says only what an in-memory adapter always said.
    const Adapter plain = Adapter::fromFactors("plain", {module}, {{b, a}});
    QVERIFY(plain.otherTensors().empty());
    QCOMPARE(plain.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));

    // Tensors that no file could hold are refused when the adapter is made, not when written.
    std::vector<TensorData> short_ = others;
    short_[0].bytes.pop_back();
    QVERIFY_THROWS_EXCEPTION(Error,
                             Adapter::fromFactors("bad", {module}, {{b, a}}, {}, short_, {}));
    std::vector<TensorData> twice = others;
    twice[1].name = module.name + ".lora_A.weight";
    QVERIFY_THROWS_EXCEPTION(Error, Adapter::fromFactors("bad", {module}, {{b, a}}, {}, twice, {}));
}

QTEST_APPLESS_MAIN(AdapterTest)
#include "adaptertest.moc"
