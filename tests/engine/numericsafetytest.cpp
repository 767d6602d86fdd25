// Hostile numbers and failures inside parallel work (issue 25): an exception in an OpenMP
// worker reaches the caller instead of killing the process (SIGABRT), `loraquant` says "out of
// memory while ..." under a memory limit, results computed from overflowed float32 are refused
// instead of printed, and no export writes Inf where the stored type cannot hold a value.

#include "clirun.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/baseline.h"
#include "core/engine/bitbudget.h"
#include "core/engine/dequantizedadapter.h"
#include "core/engine/parallelmodules.h"
#include "core/engine/spectrumsummary.h"
#include "core/io/adapter.h"
#include "core/io/dtype.h"
#include "core/io/error.h"
#include "core/io/firsterror.h"
#include "core/io/safetensors.h"
#include "sanitizers.h"
#include "shareddata.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <limits>
#include <new>
#include <sys/resource.h>

using namespace lq;

namespace {

const std::string kModule = "base_model.model.model.layers.0.self_attn.q_proj";

LoraModule moduleNamed(const std::string& name, DType dtype = DType::F32)
{
    LoraModule module;
    module.name = name;
    module.dtype = dtype;
    return module;
}

// Deterministic values in [-1, 1) times `scale`.
Eigen::MatrixXf values(int rows, int cols, float scale, unsigned seed)
{
    Eigen::MatrixXf x(rows, cols);
    unsigned state = seed * 2654435761u + 1;
    for (Eigen::Index i = 0; i < x.size(); ++i) {
        state = state * 1664525u + 1013904223u;
        x.data()[i] = scale * (float(state >> 8) / float(1 << 23) - 1.0f);
    }
    return x;
}

// An adapter of `count` 32 x 24 rank-4 modules held in memory, factors scaled by `scale`.
Adapter memoryAdapter(int count, float scale, DType dtype = DType::F32)
{
    std::vector<LoraModule> modules;
    std::vector<ModuleFactors> factors;
    for (int i = 0; i < count; ++i) {
        modules.push_back(moduleNamed("layers." + std::to_string(i) + ".q_proj", dtype));
        factors.push_back(
            {values(32, 4, scale, 2 * unsigned(i)), values(4, 24, scale, 2 * unsigned(i) + 1)});
    }
    return Adapter::fromFactors("memory", std::move(modules), std::move(factors));
}

// The float32 values of every tensor of a safetensors file, by name.
std::map<std::string, std::vector<float>> readFloats(const QString& path)
{
    std::map<std::string, std::vector<float>> out;
    const SafetensorsFile file = SafetensorsFile::open(path.toStdString());
    for (const TensorEntry& entry : file.tensors()) {
        std::vector<float> floats((entry.end - entry.begin) / elementSize(entry.dtype));
        convertToFloat(entry.dtype, file.bytes(entry), floats);
        out[entry.name] = std::move(floats);
    }
    return out;
}

// `loraquant` with its address space limited to `limitBytes` and no core file, as `ulimit -v`
// would run it.
lqtest::CliRun runCliLimited(const QStringList& arguments, rlim_t limitBytes)
{
    QProcess process;
    process.setChildProcessModifier([limitBytes] {
        const rlimit memory{limitBytes, limitBytes};
        setrlimit(RLIMIT_AS, &memory);
        const rlimit core{0, 0};
        setrlimit(RLIMIT_CORE, &core);
    });
    process.start(QStringLiteral(LQ_CLI_PATH), arguments);
    return lqtest::finishRun(process, 120000);
}

} // namespace

class NumericSafetyTest : public QObject
{
    Q_OBJECT

private slots:
    void firstErrorCarriesOutOfARegion();
    void moduleWorkThrowsToTheCaller();
    void progressThrowsToTheCaller();
    void spectraRethrowOutOfMemory();
    void outOfMemoryInInspectIsAnError();
    void overflowedSpectrumIsRefused();
    void overflowedQuantizationIsRefused();
    void factorsBeyondFloat32AreRefusedByTheCli_data();
    void factorsBeyondFloat32AreRefusedByTheCli();
    void storedBytesNeverWriteInf_data();
    void storedBytesNeverWriteInf();
    void halfExportNearItsLimitNeverWritesInf();
    void unpackAsSourceNeverWritesInf();
};

void NumericSafetyTest::firstErrorCarriesOutOfARegion()
{
    // Guards: an exception thrown by a worker thread arrives on the caller as thrown (type and
    // message), instead of std::terminate; the work after it is skipped.
    FirstError error;
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < 1000; ++i)
        error.run([&] {
            if (i == 3)
                throw Error("file.safetensors", "module 3 is bad");
        });
    try {
        error.rethrow();
        QFAIL("no exception");
    } catch (const Error& e) {
        QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("file.safetensors: module 3 is bad"));
    }
    // How many iterations ran before the others saw the failure depends on the schedule (a
    // thread preempted before iteration 3 lets the other run all the rest); after it, none does.
    bool ranAfter = false;
    error.run([&] { ranAfter = true; });
    QVERIFY(!ranAfter);
}

void NumericSafetyTest::moduleWorkThrowsToTheCaller()
{
    // Guards: the engine's per-module loop (quantize, budget, sweep) rethrows a worker's
    // exception intact on the calling thread, the lowest failing module's whatever the schedule.
    for (int repeat = 0; repeat < 20; ++repeat) {
        try {
            runModulesInParallel(64,
                                 [](std::size_t i) {
                                     if (i == 40)
                                         throw std::bad_alloc();
                                     if (i == 17)
                                         throw Error("adapter", "module 17 failed");
                                 },
                                 {});
            QFAIL("no exception");
        } catch (const Error& e) {
            QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("adapter: module 17 failed"));
        }
    }
    QVERIFY_THROWS_EXCEPTION(
        std::bad_alloc,
        runModulesInParallel(8, [](std::size_t i) { i == 5 ? throw std::bad_alloc() : void(); },
                             {}));
}

void NumericSafetyTest::progressThrowsToTheCaller()
{
    // Guards: a progress callback that throws inside the critical section neither terminates
    // nor leaves the section locked (a hang on the next module).
    int calls = 0;
    try {
        runModulesInParallel(
            32, [](std::size_t) {},
            [&](int done, int) {
                ++calls;
                if (done == 3)
                    throw std::runtime_error("progress failed");
                return true;
            });
        QFAIL("no exception");
    } catch (const std::runtime_error& e) {
        QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("progress failed"));
    }
    QVERIFY(calls >= 3);
}

void NumericSafetyTest::spectraRethrowOutOfMemory()
{
    // Guards the crash of the issue: std::bad_alloc while converting one module's factors in
    // adapterSpectra's parallel region killed `inspect` with SIGABRT. It now reaches the caller.
    std::vector<LoraModule> modules;
    for (int i = 0; i < 16; ++i) {
        LoraModule module = moduleNamed("layers." + std::to_string(i) + ".q_proj");
        module.m = 32;
        module.n = 24;
        module.r = 4;
        modules.push_back(module);
    }
    const Adapter adapter = Adapter::fromSource("memory", modules, [](std::size_t i) {
        if (i == 9)
            throw std::bad_alloc();
        return ModuleFactors{values(32, 4, 1.0f, unsigned(i)), values(4, 24, 1.0f, unsigned(i))};
    });
    QVERIFY_THROWS_EXCEPTION(std::bad_alloc, adapterSpectra(adapter));
    QVERIFY_THROWS_EXCEPTION(std::bad_alloc, quantizeAdapter(adapter, QuantSettings{}));
}

void NumericSafetyTest::outOfMemoryInInspectIsAnError()
{
    // Guards: `inspect` on an adapter larger than the memory it may use exits 1 with "out of
    // memory while ..." naming the adapter, not SIGABRT and a core dump. The adapter is a
    // 128 MiB sparse file (one F32 lora_B of 2^21 x 16 zeros, no disk used); under a 320 MiB
    // address-space limit it maps, but its float32 copies (128 MiB twice) do not fit. Measured:
    // the mapping needs a limit above about 180 MB, the copies fail up to about 450 MB.
#if defined(LQ_ADDRESS_SANITIZER)
    QSKIP("ASan reserves far more address space than any RLIMIT_AS allows");
#else
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString folder = dir.path() + "/sparse";
    QVERIFY(QDir().mkpath(folder));
    const std::int64_t m = std::int64_t(1) << 21, r = 16, n = 16;
    const std::string header =
        R"({"__metadata__":{"format":"pt"},")" + kModule +
        R"(.lora_A.weight":{"dtype":"F32","shape":[16,16],"data_offsets":[0,1024]},")" + kModule +
        R"(.lora_B.weight":{"dtype":"F32","shape":[)" + std::to_string(m) +
        R"(,16],"data_offsets":[1024,)" + std::to_string(1024 + m * r * 4) + "]}}";
    std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
    QFile file(folder + "/adapter_model.safetensors");
    QVERIFY(file.open(QIODevice::WriteOnly));
    const std::uint64_t length = padded.size();
    QVERIFY(file.write(reinterpret_cast<const char*>(&length), 8) == 8);
    QVERIFY(file.write(padded.data(), qint64(padded.size())) == qint64(padded.size()));
    QVERIFY(file.resize(qint64(8 + padded.size()) + r * n * 4 + m * r * 4));
    file.close();

    const lqtest::CliRun run = runCliLimited({"inspect", folder}, rlim_t(320) << 20);
    QVERIFY2(run.exitCode == 1, "crashed or did not exit 1 (exit code -1 means a signal)");
    QCOMPARE(QString::fromUtf8(run.err).trimmed(),
             "loraquant inspect: out of memory while computing the singular values of " + folder);
#endif
}

void NumericSafetyTest::overflowedSpectrumIsRefused()
{
    // Guards: factors that never went through Adapter::load (in memory, decoded) and would
    // overflow float32 in the SVD give load's error naming the module, not the finite nonsense
    // the SVD returns for them (4e-11 for a 32 x 24 module of values near 1e20).
    const Adapter adapter = memoryAdapter(3, 1e30f);
    try {
        adapterSpectra(adapter);
        QFAIL("spectra of overflowing factors");
    } catch (const Error& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith("memory: module layers."), qPrintable(message));
        QVERIFY2(message.contains(".q_proj: lora_A holds values up to 9.9865e+29, too large to "
                                  "compute with in float32: the sums of their squares would "
                                  "reach 9.574e+61 (at most 5.1923e+33 is safe)"),
                 qPrintable(message));
    }
    // The same adapter at ordinary scale is fine: the check refuses overflow, not large values.
    for (const SpectrumSummary& summary : adapterSpectra(memoryAdapter(3, 1e3f)))
        QVERIFY(summary.singularValues.front() > 0 && std::isfinite(summary.energy));
}

void NumericSafetyTest::overflowedQuantizationIsRefused()
{
    // Guards: quantize reported "error 0.0000" for overflowing factors; now every quantizing
    // path refuses with the module's name.
    const Adapter adapter = memoryAdapter(2, 1e30f);
    const auto expectRefused = [](const auto& work) {
        try {
            work();
            QFAIL("quantized overflowing factors");
        } catch (const Error& e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.startsWith("module layers."), qPrintable(message));
            QVERIFY2(message.contains(".q_proj: lora_A holds values up to 9.9865e+29, too large "
                                      "to compute with in float32"),
                     qPrintable(message));
        }
    };
    expectRefused([&] { quantizeAdapter(adapter, QuantSettings{}); });
    expectRefused([&] { computeErrorCurves(adapter, QuantSettings{}, {2, 3}); });
    BaselineSettings baseline;
    baseline.scaleFormat = ScaleFormat::F32;
    // The baseline quantizes B and A themselves (no SVD): with F32 scales the dequantized
    // values stay finite and the error is summed in double, so factors this large get a real,
    // finite result rather than a refusal.
    const QuantResult result = quantizeBaseline(adapter, baseline);
    QVERIFY(std::isfinite(result.relErrTotal) && result.relErrTotal > 0);
}

void NumericSafetyTest::factorsBeyondFloat32AreRefusedByTheCli_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("adapter");
    QTest::addColumn<QString>("expected");
    const QString f64 = "module " + QString::fromStdString(kModule) +
                        ": lora_A holds values up to 1.75e+300, beyond float32's range (largest "
                        "3.4028e+38), in which it is computed";
    const QString product =
        "module " + QString::fromStdString(kModule) +
        ": lora_A and lora_B hold values too large to compute with in float32: the squares of "
        "the singular values of B A would reach 1.4884e+51 (at most 5.1923e+33 is safe)";
    QTest::newRow("inspect, F64 1e300") << "inspect"
                                        << "f64-beyond-float32" << f64;
    QTest::newRow("quantize, F64 1e300") << "quantize"
                                         << "f64-beyond-float32" << f64;
    QTest::newRow("inspect, product overflow") << "inspect"
                                               << "float32-product-overflow" << product;
    QTest::newRow("quantize, product overflow") << "quantize"
                                                << "float32-product-overflow" << product;
}

void NumericSafetyTest::factorsBeyondFloat32AreRefusedByTheCli()
{
    // Guards: inspect printed zero singular values and quantize "error 0.0000" for these
    // adapters, exit 0. Now exit 1 with the file, module and factor named.
    QFETCH(QString, command);
    QFETCH(QString, adapter);
    QFETCH(QString, expected);
    const QString path = lqtest::testDataDir() + "/bad/" + adapter;
    const lqtest::CliRun run = lqtest::runCli({command, path});
    QCOMPARE(run.exitCode, 1);
    QVERIFY(run.out.isEmpty() || !run.out.contains("rel error"));
    QCOMPARE(QString::fromUtf8(run.err).trimmed(),
             "loraquant " + command + ": " + path + "/adapter_model.safetensors: " + expected);
}

void NumericSafetyTest::storedBytesNeverWriteInf_data()
{
    QTest::addColumn<int>("type");
    QTest::addColumn<float>("value");
    QTest::addColumn<QString>("expected"); // empty: written, and read back finite
    const QString refused = "out.safetensors: cannot write t as %1: it holds values up to %2, "
                            "beyond %1's largest finite value (%3); export it as float32 instead "
                            "(unpack --dtype f32)";
    QTest::newRow("F16 65504") << int(DType::F16) << 65504.0f << QString();
    // Rounds down to 65504: still finite.
    QTest::newRow("F16 65519") << int(DType::F16) << 65519.0f << QString();
    QTest::newRow("F16 65520") << int(DType::F16) << -65520.0f
                               << refused.arg("F16", "65520", "65504");
    QTest::newRow("F16 1e6") << int(DType::F16) << 1e6f << refused.arg("F16", "1e+06", "65504");
    QTest::newRow("BF16 3.38e38") << int(DType::BF16) << 3.38e38f << QString();
    QTest::newRow("BF16 float max") << int(DType::BF16) << std::numeric_limits<float>::max()
                                    << refused.arg("BF16", "3.4028e+38", "3.3895e+38");
    QTest::newRow("F32 float max")
        << int(DType::F32) << std::numeric_limits<float>::max() << QString();
    QTest::newRow("F32 Inf") << int(DType::F32) << std::numeric_limits<float>::infinity()
                             << "out.safetensors: cannot write t: 1 of its values are Inf or NaN "
                                "(float32 overflowed computing them)";
}

void NumericSafetyTest::storedBytesNeverWriteInf()
{
    // Guards the one conversion every export of computed factors goes through.
    QFETCH(int, type);
    QFETCH(float, value);
    QFETCH(QString, expected);
    Eigen::MatrixXf matrix = values(3, 5, 1.0f, 7);
    matrix(2, 1) = value;
    try {
        const std::vector<std::byte> bytes =
            toStoredBytes(matrix, DType(type), "out.safetensors", "t");
        QVERIFY2(expected.isEmpty(), "written");
        std::vector<float> back(std::size_t(matrix.size()));
        convertToFloat(DType(type), bytes, back);
        for (float x : back)
            QVERIFY(std::isfinite(x));
    } catch (const Error& e) {
        QCOMPARE(QString::fromUtf8(e.what()), expected);
    }
}

void NumericSafetyTest::halfExportNearItsLimitNeverWritesInf()
{
    // Guards: a dequantized export in F16 of factors near 65504 wrote Inf (the reparameterized
    // factors of such a module exceed 65504). It is refused, naming the tensor, and nothing is
    // written; the same adapter at ordinary scale exports finite F16.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Adapter large = memoryAdapter(2, 60000.0f, DType::F16);
    const QuantResult result = quantizeAdapter(large, QuantSettings{});
    const QString out = dir.path() + "/export";
    try {
        writeDequantizedAdapter(out.toStdString(), large, result);
        QFAIL("wrote an F16 export beyond 65504");
    } catch (const Error& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(out + "/adapter_model.safetensors: cannot write layers.0."
                                          "q_proj.lora_"),
                 qPrintable(message));
        QVERIFY2(message.contains(".weight as F16: it holds values up to "), qPrintable(message));
        QVERIFY2(message.endsWith(", beyond F16's largest finite value (65504); export it as "
                                  "float32 instead (unpack --dtype f32)"),
                 qPrintable(message));
    }
    QVERIFY(!QFileInfo::exists(out + "/adapter_model.safetensors"));

    const Adapter ordinary = memoryAdapter(2, 10.0f, DType::F16);
    writeDequantizedAdapter(out.toStdString(), ordinary,
                            quantizeAdapter(ordinary, QuantSettings{}));
    for (const auto& [name, floats] : readFloats(out + "/adapter_model.safetensors"))
        for (float x : floats)
            QVERIFY2(std::isfinite(x), name.c_str());
}

void NumericSafetyTest::unpackAsSourceNeverWritesInf()
{
    // Guards the CLI's F16 export: `unpack --dtype source` of a packed F16 adapter whose values
    // exceed 65504 exits 1 with the message instead of writing Inf, and `--dtype f32` (what the
    // message points to) writes the values finite.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Adapter large = memoryAdapter(1, 60000.0f, DType::F16);
    const QString source = dir.path() + "/source";
    {
        // An F16 PEFT adapter of these factors (converted as F16 holds them: <= 60000).
        writePeftAdapter(source.toStdString(), large);
    }
    const QString packed = dir.path() + "/large.lqa.h5";
    lqtest::CliRun run = lqtest::runCli({"quantize", source, "--export-packed", packed});
    QVERIFY2(run.exitCode == 0, run.err.constData());

    const QString halves = dir.path() + "/halves";
    run = lqtest::runCli({"unpack", packed, "-o", halves, "--dtype", "source"});
    QCOMPARE(run.exitCode, 1);
    const QString message = QString::fromUtf8(run.err).trimmed();
    QVERIFY2(message.startsWith("loraquant unpack: " + halves +
                                "/adapter_model.safetensors: cannot write layers.0.q_proj.lora_"),
             qPrintable(message));
    QVERIFY2(message.endsWith("beyond F16's largest finite value (65504); export it as float32 "
                              "instead (unpack --dtype f32)"),
             qPrintable(message));
    QVERIFY(!QFileInfo::exists(halves + "/adapter_model.safetensors"));

    const QString floats = dir.path() + "/floats";
    run = lqtest::runCli({"unpack", packed, "-o", floats, "--dtype", "f32"});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    float largest = 0;
    for (const auto& [name, values] : readFloats(floats + "/adapter_model.safetensors"))
        for (float x : values) {
            QVERIFY2(std::isfinite(x), name.c_str());
            largest = std::max(largest, std::fabs(x));
        }
    QVERIFY(largest > 65504.0f);
}

QTEST_GUILESS_MAIN(NumericSafetyTest)
#include "numericsafetytest.moc"
