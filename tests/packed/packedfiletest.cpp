// The .lqa.h5 file: what a user relies on when they ship a packed adapter.
// - Reading it back gives bit-identical dequantized values to the in-memory result, on the three
//   shared adapters, in the default (per-component, fp16) and paper-exact (flattened, f32) modes.
// - Its size is the engine's true bit count plus a small fixed header (within 1% for a realistic
//   7B-class adapter); the same adapter always gives the same bytes; writes are atomic.
// - Every kind of damage gives its own clear error naming the file, never a crash.

#include "core/packed/packedfile.h"

#include "core/engine/adapterquantizer.h"
#include "core/io/error.h"
#include "packedtestdata.h"
#include "shareddata.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <filesystem>
#include <functional>
#include <hdf5.h>
#include <random>

namespace fs = std::filesystem;

namespace {

// The file may exceed the codes, scales and zero points (with the engine's 16-byte module
// header) by this fraction, after the fixed header (format, source, settings, dataset headers)
// is taken off; the bound.
constexpr double kSizeTolerance = 0.01;
// The fixed header (root, /source with a ~1 KB config, /settings, the four dataset headers,
// superblock): measured ~9 KiB; a regression that puts per-file overhead above this is one a
// user of small adapters would notice.
constexpr std::uint64_t kFixedHeaderLimit = 16 * 1024;

bool sameBits(const Eigen::MatrixXf& a, const Eigen::MatrixXf& b)
{
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), std::size_t(a.size()) * sizeof(float)) == 0;
}

std::uint64_t fileSize(const std::string& path)
{
    return fs::file_size(path);
}

QByteArray readAll(const std::string& path)
{
    QFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

// A 7B-class packed adapter without running the engine: llama2-7b's 224 module shapes at rank 16
// with h = 4 components in 2 bits and 12 in 1 bit, random codes and binary16 scales.
lq::PackedAdapter llamaSizedAdapter()
{
    std::mt19937_64 engine(7);
    const auto part = [&](int count, int length, bool binary, int bits) {
        lq::QuantizedVectors q;
        q.scheme =
            binary ? lq::QuantizedVectors::Scheme::Binary : lq::QuantizedVectors::Scheme::Rtn;
        q.bits = binary ? 1 : bits;
        q.count = count;
        q.length = length;
        q.codes.resize(std::size_t(q.valueCount()));
        for (auto& c : q.codes)
            c = std::uint8_t(engine() & ((1u << q.bits) - 1u));
        q.scales.resize(std::size_t(q.groupCount()));
        for (auto& s : q.scales)
            s = lq::halfToFloat(lq::floatToHalf(float(engine() % 1000 + 1) * 1e-5f));
        if (!binary) {
            q.zeros.resize(q.scales.size());
            for (auto& z : q.zeros)
                z = std::uint8_t(engine() & ((1u << bits) - 1u));
        }
        return lq::packVectors(q, "llama-sized part");
    };
    lq::PackedAdapter adapter;
    adapter.source.path = "synthetic llama2-7b r16";
    adapter.source.configJson = std::string(900, ' ') + "{}"; // a config of typical length
    adapter.settings.bitsHigh = 2;
    const struct
    {
        const char* kind;
        int m, n;
    } kinds[] = {{"q_proj", 4096, 4096},    {"k_proj", 4096, 4096},     {"v_proj", 4096, 4096},
                 {"o_proj", 4096, 4096},    {"gate_proj", 11008, 4096}, {"up_proj", 11008, 4096},
                 {"down_proj", 4096, 11008}};
    const int r = 16, h = 4;
    for (int layer = 0; layer < 32; ++layer)
        for (const auto& kind : kinds) {
            lq::PackedModule module;
            module.name = "base_model.model.model.layers." + std::to_string(layer) + ".self_attn." +
                          kind.kind;
            module.keyA = module.name + ".lora_A.weight";
            module.keyB = module.name + ".lora_B.weight";
            module.m = kind.m;
            module.n = kind.n;
            module.r = r;
            module.h = h;
            module.bitsHigh = 2;
            module.bHigh = part(h, kind.m, false, 2);
            module.aHigh = part(h, kind.n, false, 2);
            module.bLow = part(r - h, kind.m, true, 1);
            module.aLow = part(r - h, kind.n, true, 1);
            adapter.modules.push_back(std::move(module));
        }
    return adapter;
}

// Opens a copy of a valid file read-write with HDF5 and lets `change` damage it.
void editFile(const std::string& path, const std::function<void(hid_t)>& change)
{
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    QVERIFY(file >= 0);
    change(file);
    H5Fclose(file);
}

void replaceStringAttribute(hid_t object, const char* name, const char* value)
{
    H5Adelete(object, name);
    const hid_t type = H5Tcopy(H5T_C_S1); // fixed-length, as the writer stores strings
    H5Tset_size(type, std::strlen(value));
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attribute = H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attribute, type, value);
    H5Aclose(attribute);
    H5Sclose(space);
    H5Tclose(type);
}

void replaceIntAttribute(hid_t object, const char* name, long long value)
{
    H5Adelete(object, name);
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attribute =
        H5Acreate2(object, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attribute, H5T_NATIVE_LLONG, &value);
    H5Aclose(attribute);
    H5Sclose(space);
}

void replaceDataset(hid_t file, const char* name, hid_t type, hsize_t count)
{
    H5Ldelete(file, name, H5P_DEFAULT);
    const hid_t space = H5Screate_simple(1, &count, nullptr);
    const hid_t dataset =
        H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<std::uint8_t> zeros(count * H5Tget_size(type), 0);
    H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
    H5Dclose(dataset);
    H5Sclose(space);
}

// Overwrites element `index` of a one-dimensional dataset with `bytes` (in its file type).
void pokeElement(hid_t file, const char* name, hsize_t index, const void* bytes)
{
    const hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
    const hid_t type = H5Dget_type(dataset);
    const hid_t fileSpace = H5Dget_space(dataset);
    const hsize_t one = 1;
    H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &index, nullptr, &one, nullptr);
    const hid_t memSpace = H5Screate_simple(1, &one, nullptr);
    H5Dwrite(dataset, type, memSpace, fileSpace, H5P_DEFAULT, bytes);
    H5Sclose(memSpace);
    H5Sclose(fileSpace);
    H5Tclose(type);
    H5Dclose(dataset);
}

// Changes one column of one row of /modules (raw bytes in the file's compound type).
void pokeTableField(hid_t file, hsize_t row, const char* column,
                    const std::function<void(std::uint8_t*)>& change)
{
    const hid_t dataset = H5Dopen2(file, "modules", H5P_DEFAULT);
    const hid_t type = H5Dget_type(dataset);
    const std::size_t rowSize = H5Tget_size(type);
    const hid_t space = H5Dget_space(dataset);
    hsize_t rows = 0;
    H5Sget_simple_extent_dims(space, &rows, nullptr);
    std::vector<std::uint8_t> table(rowSize * rows);
    H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, table.data());
    const std::size_t offset =
        H5Tget_member_offset(type, unsigned(H5Tget_member_index(type, column)));
    change(table.data() + row * rowSize + offset);
    H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, table.data());
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(dataset);
}

using Corruption = std::function<void(const std::string& path, const lq::PackedAdapter& valid)>;

} // namespace

Q_DECLARE_METATYPE(Corruption)

class PackedFileTest : public QObject
{
    Q_OBJECT

private slots:
    void sharedRoundTrip_data()
    {
        QTest::addColumn<QString>("adapter");
        QTest::addColumn<bool>("paperExact");
        if (!lqtest::haveShared())
            QTest::addRow("no shared data") << QString() << false;
        for (const QString& name : lqtest::sharedAdapterNames()) {
            QTest::addRow("%s default", qPrintable(name)) << name << false;
            QTest::addRow("%s paper-exact", qPrintable(name)) << name << true;
        }
    }

    // Quantize, export, read back: every dequantized value bit-identical, every module's
    // metadata and stored bit count as the engine has them, the source recorded faithfully.
    void sharedRoundTrip()
    {
        LQ_REQUIRE_SHARED();
        QFETCH(QString, adapter);
        QFETCH(bool, paperExact);
        const std::string folder = (lqtest::adaptersDir() + "/" + adapter).toStdString();
        const lq::Adapter source = lq::Adapter::load(folder);
        lq::QuantSettings settings;
        if (paperExact)
            settings = lq::QuantSettings::paperExact(0.9, 3, false);
        else
            settings.rho = 0.9;
        const lq::QuantResult result = lq::quantizeAdapter(source, settings);

        QTemporaryDir dir;
        const std::string path = dir.filePath("adapter.lqa.h5").toStdString();
        lq::exportPackedAdapter(path, source, result);
        const lq::PackedAdapter back = lq::readPackedAdapter(path);

        QCOMPARE(back.modules.size(), result.modules.size());
        QVERIFY(back.settings.layout == settings.layout);
        QVERIFY(back.settings.scaleFormat == settings.scaleFormat);
        QCOMPARE(back.settings.bitsHigh, settings.bitsHigh);
        QCOMPARE(back.settings.rho, settings.rho);
        QCOMPARE(back.relErrTotal, result.relErrTotal);
        for (std::size_t i = 0; i < result.modules.size(); ++i) {
            const lq::ModuleResult& expected = result.modules[i];
            const lq::LoraModule& module = source.modules()[i];
            const lq::PackedModule& got = back.modules[i];
            QCOMPARE(got.name, expected.name);
            QCOMPARE(got.keyA, module.keyA);
            QCOMPARE(got.keyB, module.keyB);
            QVERIFY(got.dtypeB == module.dtype);
            QCOMPARE(got.m, expected.m);
            QCOMPARE(got.n, expected.n);
            QCOMPARE(got.r, expected.r);
            QCOMPARE(got.h, expected.h);
            QCOMPARE(got.bitsHigh, expected.bitsHigh);
            QCOMPARE(got.loraScale, module.scale.value_or(1.0));
            QCOMPARE(got.relErr, expected.relErr);
            QCOMPARE(double(got.storedBits()), expected.bitsTrue);
            QVERIFY2(sameBits(lq::dequantizedB(got), expected.dequantizedB()), got.name.c_str());
            QVERIFY2(sameBits(lq::dequantizedA(got), expected.dequantizedA()), got.name.c_str());
        }
        // The source as recorded: digest of the file as Qt computes it, config text verbatim.
        const QByteArray tensors = readAll(source.safetensorsPath());
        QCOMPARE(QString::fromStdString(back.source.sha256),
                 QString::fromLatin1(
                     QCryptographicHash::hash(tensors, QCryptographicHash::Sha256).toHex()));
        QCOMPARE(back.source.bytes, std::uint64_t(tensors.size()));
        QVERIFY(back.source.configJson.has_value());
        QCOMPARE(QByteArray::fromStdString(*back.source.configJson),
                 readAll(folder + "/adapter_config.json"));
        QCOMPARE(back.source.metadata, source.file()->metadata());
        QCOMPARE(back.otherTensors.size(), source.otherTensors().size());

        const double payload = double(back.storedBits()) / 8.0;
        qInfo("%s: file %llu bytes, codes+scales+zeros+headers %.0f bytes (%.1f%% more, tiny "
              "adapters are dominated by the HDF5 header)",
              qPrintable(adapter), (unsigned long long)fileSize(path), payload,
              100.0 * (double(fileSize(path)) / payload - 1.0));
    }

    // Non-LoRA tensors (a classifier head kept by modules_to_save, integer buffers, masks, 8-bit
    // floats) go into the file with dtype and shape and come back byte for byte.
    void otherTensorsRoundTrip()
    {
        // One small module: a packed adapter has at least one.
        const lq::Adapter source = packedtest::randomAdapter({{8, 8, 2}}, 2);
        lq::PackedAdapter adapter =
            lq::packAdapter(source, lq::quantizeAdapter(source, lq::QuantSettings()));
        adapter.source.path = "memory";
        adapter.otherTensors.push_back({"score.weight", lq::DType::BF16, {3, 5}, {}});
        adapter.otherTensors.back().bytes.resize(30);
        for (std::size_t i = 0; i < 30; ++i)
            adapter.otherTensors.back().bytes[i] = std::byte(i * 7);
        adapter.otherTensors.push_back({"scalar", lq::DType::F64, {}, std::vector<std::byte>(8)});
        for (const lq::DType type :
             {lq::DType::I64, lq::DType::Bool, lq::DType::F8E4M3, lq::DType::U16, lq::DType::I8}) {
            std::vector<std::byte> bytes(3 * lq::elementSize(type));
            for (std::size_t i = 0; i < bytes.size(); ++i)
                bytes[i] = std::byte(0x5a ^ i);
            adapter.otherTensors.push_back(
                {"buffer." + std::string(lq::dtypeName(type)), type, {3}, std::move(bytes)});
        }
        QTemporaryDir dir;
        const std::string path = dir.filePath("t.lqa.h5").toStdString();
        lq::writePackedAdapter(path, adapter);
        const lq::PackedAdapter back = lq::readPackedAdapter(path);
        QCOMPARE(back.otherTensors.size(), adapter.otherTensors.size());
        for (std::size_t i = 0; i < back.otherTensors.size(); ++i) {
            QCOMPARE(back.otherTensors[i].name, adapter.otherTensors[i].name);
            QVERIFY(back.otherTensors[i].dtype == adapter.otherTensors[i].dtype);
            QCOMPARE(back.otherTensors[i].shape, adapter.otherTensors[i].shape);
            QVERIFY(back.otherTensors[i].bytes == adapter.otherTensors[i].bytes);
        }
    }

    // An adapter held in memory (a packed file opened in the workbench) carries its source's
    // non-LoRA tensors and metadata: packing it again writes them, byte for byte.
    void inMemoryOtherTensorsArePacked()
    {
        const lq::Adapter random = packedtest::randomAdapter({{64, 96, 4}, {48, 40, 2}}, 5);
        std::vector<lq::ModuleFactors> factors;
        for (std::size_t i = 0; i < random.modules().size(); ++i)
            factors.push_back(random.factors(i));
        std::vector<std::byte> head(4 * 6 * 2);
        for (std::size_t i = 0; i < head.size(); ++i)
            head[i] = std::byte(i * 13 + 1);
        const std::vector<lq::TensorData> others{
            {"base_model.model.score.modules_to_save.default.weight",
             lq::DType::F16,
             {4, 6},
             head}};
        const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "kept"}};
        const lq::Adapter source = lq::Adapter::fromFactors(
            random.path(), random.modules(), std::move(factors), {}, others, metadata);
        const lq::QuantResult result = lq::quantizeAdapter(source, lq::QuantSettings());

        QTemporaryDir dir;
        const std::string path = dir.filePath("kept.lqa.h5").toStdString();
        lq::exportPackedAdapter(path, source, result);
        const lq::PackedAdapter back = lq::readPackedAdapter(path);
        QCOMPARE(back.source.metadata, metadata);
        QCOMPARE(back.otherTensors.size(), std::size_t(1));
        QCOMPARE(back.otherTensors[0].name, others[0].name);
        QVERIFY(back.otherTensors[0].dtype == others[0].dtype);
        QCOMPARE(back.otherTensors[0].shape, others[0].shape);
        QVERIFY(back.otherTensors[0].bytes == others[0].bytes);
        QCOMPARE(back.modules.size(), source.modules().size());
    }

    // The size claim: file = fixed header + (codes, scales, zero points, 16-byte module headers)
    // within 1%, on a llama2-7b-sized rank-16 adapter (224 modules). Per module the file spends
    // one table row (names + 58 bytes) where the engine counts 16 bytes.
    void sizeIsTrueBitCount()
    {
        lq::PackedAdapter adapter = llamaSizedAdapter();
        QTemporaryDir dir;
        const std::string full = dir.filePath("full.lqa.h5").toStdString();
        lq::writePackedAdapter(full, adapter);
        // The fixed header: a file of the first module alone, less that module's payload (a
        // packed file has at least one module).
        lq::PackedAdapter one = adapter;
        one.modules.resize(1);
        const std::string header = dir.filePath("one.lqa.h5").toStdString();
        lq::writePackedAdapter(header, one);

        const double payload = double(adapter.storedBits()) / 8.0;
        const auto fixed = std::uint64_t(double(fileSize(header)) - double(one.storedBits()) / 8.0);
        const double excess = (double(fileSize(full)) - double(fixed)) / payload - 1.0;
        qInfo("llama2-7b r16 (h 4 of 16, b_h 2): %lld parameters, %.4f true bits/param, payload "
              "%.0f bytes, file %llu bytes, fixed header %llu bytes, per-module overhead beyond "
              "the counted 16 bytes %.0f bytes, excess %.2f%%",
              (long long)adapter.parameterCount(), adapter.avgBitsTrue(), payload,
              (unsigned long long)fileSize(full), (unsigned long long)fixed,
              excess * payload / double(adapter.modules.size()), 100.0 * excess);
        QVERIFY(fixed < kFixedHeaderLimit);
        QVERIFY2(excess >= 0 && excess < kSizeTolerance,
                 qPrintable(QStringLiteral("excess %1").arg(excess)));
        // And the data itself round-trips at this size.
        const lq::PackedAdapter back = lq::readPackedAdapter(full);
        QCOMPARE(back.storedBits(), adapter.storedBits());
        QVERIFY(back.modules[223].aLow.codes == adapter.modules[223].aLow.codes);
    }

    // No timestamps in the file: the same adapter gives the same bytes, so packed files can be
    // compared and cached by digest.
    void deterministicBytes()
    {
        const lq::Adapter source = packedtest::randomAdapter({{64, 96, 4}, {48, 40, 2}}, 3);
        const lq::QuantResult result = lq::quantizeAdapter(source, lq::QuantSettings());
        QTemporaryDir dir;
        const std::string a = dir.filePath("a.lqa.h5").toStdString();
        const std::string b = dir.filePath("b.lqa.h5").toStdString();
        lq::exportPackedAdapter(a, source, result);
        QTest::qWait(1100); // a timestamp would differ by now
        lq::exportPackedAdapter(b, source, result);
        QCOMPARE(readAll(a), readAll(b));
    }

    // A failed write leaves the previous file untouched and no temporary file behind.
    void atomicWrite()
    {
        const lq::Adapter source = packedtest::randomAdapter({{64, 96, 4}}, 4);
        const lq::QuantResult result = lq::quantizeAdapter(source, lq::QuantSettings());
        QTemporaryDir dir;
        const std::string path = dir.filePath("a.lqa.h5").toStdString();
        lq::exportPackedAdapter(path, source, result);
        const QByteArray before = readAll(path);

        lq::PackedAdapter broken = lq::packAdapter(source, result);
        broken.modules[0].aLow.codes.pop_back(); // inconsistent: refused while writing
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::writePackedAdapter(path, broken));
        QCOMPARE(readAll(path), before);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"a.lqa.h5"});

        const std::string missingFolder = dir.filePath("no/such/folder/x.lqa.h5").toStdString();
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::exportPackedAdapter(missingFolder, source, result));
        QVERIFY(!fs::exists(missingFolder));
    }

    void corrupted_data()
    {
        QTest::addColumn<Corruption>("corrupt");
        QTest::addColumn<QString>("expected");
        const auto truncateTo = [](double fraction) {
            return Corruption([fraction](const std::string& path, const lq::PackedAdapter&) {
                fs::resize_file(path, std::uintmax_t(double(fs::file_size(path)) * fraction));
            });
        };
        QTest::newRow("truncated to 60%") << truncateTo(0.6) << "truncated or damaged";
        QTest::newRow("truncated to 99%") << truncateTo(0.99) << "truncated or damaged";
        QTest::addRow("truncated to 20 bytes") << truncateTo(0.0005) << "not an HDF5 file";
        QTest::addRow("not HDF5") << Corruption([](const std::string& path, auto&) {
            QFile file(QString::fromStdString(path));
            QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
            file.write("{\"this\": \"is json\"}");
        }) << "not an HDF5 file";
        QTest::addRow("wrong format name") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) { replaceStringAttribute(f, "format", "netcdf4"); });
        }) << "format is 'netcdf4'";
        QTest::addRow("no format name") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) { H5Adelete(f, "format"); });
        }) << "has no 'format' attribute";
        QTest::addRow("wrong version") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) { replaceIntAttribute(f, "format_version", 2); });
        }) << "format version 2 is not supported";
        QTest::addRow("codes one byte short") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) {
                const hid_t d = H5Dopen2(f, "codes", H5P_DEFAULT);
                const hid_t s = H5Dget_space(d);
                hsize_t n = 0;
                H5Sget_simple_extent_dims(s, &n, nullptr);
                H5Sclose(s);
                H5Dclose(d);
                replaceDataset(f, "codes", H5T_STD_U8LE, n - 1);
            });
        }) << "the codes dataset holds";
        QTest::addRow("NaN scale") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) {
                const std::uint16_t nan = 0x7E00;
                pokeElement(f, "scales", 3, &nan);
            });
        }) << "A high: scale of group 0 is not finite";
        QTest::addRow("negative scale") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) {
                const std::uint16_t minusOne = 0xBC00;
                pokeElement(f, "scales", 0, &minusOne);
            });
        }) << "B high: scale of group 0 is negative";
        QTest::addRow("code past the last one")
            << Corruption([](const std::string& path, const lq::PackedAdapter& valid) {
                   // Module 0's B-high stream is 37 * 2 bits = 74: its last byte has 6 unused bits.
                   const auto last = hsize_t(valid.modules[0].bHigh.codeBytes() - 1);
                   editFile(path, [&](hid_t f) {
                       std::uint8_t byte = 0xFF;
                       pokeElement(f, "codes", last, &byte);
                   });
               })
            << "bits past the last code are set";
        QTest::addRow("module table missing") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) { H5Ldelete(f, "modules", H5P_DEFAULT); });
        }) << "the module table dataset 'modules' is missing";
        QTest::addRow("module row missing") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) {
                const hid_t d = H5Dopen2(f, "modules", H5P_DEFAULT);
                const hid_t type = H5Dget_type(d);
                std::vector<std::uint8_t> table(2 * H5Tget_size(type));
                H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, table.data());
                H5Dclose(d);
                replaceDataset(f, "modules", type, 1);
                const hid_t again = H5Dopen2(f, "modules", H5P_DEFAULT);
                H5Dwrite(again, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, table.data());
                H5Dclose(again);
                H5Tclose(type);
            });
        }) << "the codes dataset holds";
        QTest::addRow("scales missing") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) { H5Ldelete(f, "scales", H5P_DEFAULT); });
        }) << "dataset 'scales' is missing";
        QTest::addRow("scales stored as float32")
            << Corruption([](const std::string& path, const lq::PackedAdapter& valid) {
                   std::int64_t groups = 0;
                   for (const auto& m : valid.modules)
                       for (const auto* p : {&m.bHigh, &m.aHigh, &m.bLow, &m.aLow})
                           groups += p->groupCount();
                   editFile(path, [&](hid_t f) {
                       replaceDataset(f, "scales", H5T_IEEE_F32LE, hsize_t(groups));
                   });
               })
            << "is not IEEE binary16";
        QTest::addRow("h greater than r") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) {
                pokeTableField(f, 1, "h", [](std::uint8_t* field) {
                    const std::uint32_t h = 9;
                    std::memcpy(field, &h, 4);
                });
            });
        }) << "h = 9 exceeds r = 2";
        QTest::addRow("bit width 9") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) {
                pokeTableField(f, 0, "bits_high", [](std::uint8_t* field) { *field = 9; });
            });
        }) << "bits_high = 9 is not in 1..8";
        QTest::addRow("offset moved") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) {
                pokeTableField(f, 1, "codes_offset", [](std::uint8_t* field) { ++*field; });
            });
        }) << "offsets (codes";
        QTest::addRow("unknown split rule") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) {
                const hid_t g = H5Gopen2(f, "settings", H5P_DEFAULT);
                replaceStringAttribute(g, "split_rule", "by-vibes");
                H5Gclose(g);
            });
        }) << "unknown value 'by-vibes'";
        QTest::addRow("settings missing") << Corruption([](const std::string& path, auto&) {
            editFile(path, [](hid_t f) { H5Ldelete(f, "settings", H5P_DEFAULT); });
        }) << "'/settings' is missing";
    }

    // The corrupted-file corpus: each damage gives its own message, naming the file.
    void corrupted()
    {
        QFETCH(Corruption, corrupt);
        QFETCH(QString, expected);
        // Odd shapes so that streams end in partly used bytes; h fixed at 1 of r = 3 and 2.
        const lq::Adapter source = packedtest::randomAdapter({{37, 53, 3}, {40, 29, 2}}, 11);
        lq::QuantSettings settings;
        settings.split = lq::SplitRule::Fixed;
        settings.fixedH = 1;
        settings.groupSize = 16;
        const lq::QuantResult result = lq::quantizeAdapter(source, settings);
        QTemporaryDir dir;
        const std::string path = dir.filePath("damaged.lqa.h5").toStdString();
        lq::exportPackedAdapter(path, source, result);
        const lq::PackedAdapter valid = lq::readPackedAdapter(path);
        corrupt(path, valid);
        try {
            lq::readPackedAdapter(path);
            QFAIL("the damaged file was accepted");
        } catch (const lq::Error& e) {
            QCOMPARE(QString::fromStdString(e.file()), QString::fromStdString(path));
            QVERIFY2(QString::fromStdString(e.problem()).contains(expected), e.what());
        }
    }

    void missingFiles()
    {
        QTemporaryDir dir;
        try {
            lq::readPackedAdapter(dir.filePath("absent.lqa.h5").toStdString());
            QFAIL("accepted a missing file");
        } catch (const lq::Error& e) {
            QCOMPARE(QString::fromStdString(e.problem()), QStringLiteral("no such file"));
        }
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::readPackedAdapter(dir.path().toStdString()));
    }
};

QTEST_GUILESS_MAIN(PackedFileTest)
#include "packedfiletest.moc"
