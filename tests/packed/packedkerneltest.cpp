// The packed kernels against the scalar reference (kernelvalidation.h's tolerance), and the
// reference against the engine's own dequantized factors: on random shapes that hit every
// leftover path (m or n not a multiple of the group size or of the 512-value tile, r = 1, h = 0,
// h = r, group size 1, flattened groups, f32 scales, T = 1 .. 256, every bit width) and on the
// three shared adapters. Each random shape goes through every kernel path (kerneldispatch.h: the
// table lookup, lookupkernel.h, the mask kernel, maskkernel.h, in its AVX-512 and its AVX2 forms,
// where the shape and CPU allow them, and the decoding path). A decoding mistake (wrong code,
// scale, zero point or group boundary) moves outputs by a sizeable fraction of a scale, far above
// the tolerance. The dispatch's table is checked for other CPUs than this one too.

#include "core/packed/packedkernel.h"

#include "core/engine/adapterquantizer.h"
#include "core/io/error.h"
#include "core/packed/avx2maskkernel.h"
#include "core/packed/kerneldispatch.h"
#include "core/packed/kernelvalidation.h"
#include "core/packed/maskkernel.h"
#include "packedtestdata.h"
#include "shareddata.h"

#include <QTest>
#include <cstring>
#include <omp.h>

Q_DECLARE_METATYPE(lq::GroupLayout)
Q_DECLARE_METATYPE(lq::ScaleFormat)

namespace {

// The reference rounds its double result to float32 once (u = 6e-8); the engine's B_hat A_hat
// product evaluated in double differs from it by that rounding only. 1e-6 norm-wise leaves room
// for the product's own double rounding and guards that the reference reads the codes as the
// engine dequantizes them (a wrong value would show as 1e-2 or more).
constexpr double kReferenceTolerance = 1e-6;

double normwise(const Eigen::MatrixXf& got, const Eigen::MatrixXd& exact)
{
    const double scale = exact.cwiseAbs().maxCoeff();
    const double error = (got.cast<double>() - exact).cwiseAbs().maxCoeff();
    return scale > 0 ? error / scale : error;
}

// Y = s B_hat (A_hat X) in double from the engine's dequantized factors.
Eigen::MatrixXd engineProduct(const lq::ModuleResult& module, double scale,
                              const Eigen::MatrixXf& x)
{
    const Eigen::MatrixXd t = module.dequantizedA().cast<double>() * x.cast<double>();
    return scale * (module.dequantizedB().cast<double>() * t);
}

struct Packed
{
    lq::QuantResult result;
    lq::PackedAdapter adapter;
};

Packed quantizeAndPack(const lq::Adapter& source, const lq::QuantSettings& settings)
{
    Packed p;
    p.result = lq::quantizeAdapter(source, settings);
    p.adapter = lq::packAdapter(source, p.result);
    return p;
}

// Every kernel path, in the dispatch's order. Each is forced wherever the CPU and the shape allow
// it; elsewhere the paths after it run twice.
constexpr lq::KernelPath kAllPaths[] = {lq::KernelPath::Lookup, lq::KernelPath::MaskAvx512,
                                        lq::KernelPath::Avx2DecodedTiles, lq::KernelPath::MaskAvx2,
                                        lq::KernelPath::Decoding};

// A part with the shape and width the dispatch looks at (no codes: choosePath reads none).
lq::PackedVectors partShape(int bits, int length, int groupSize,
                            lq::GroupLayout layout = lq::GroupLayout::PerComponent)
{
    lq::PackedVectors part;
    part.scheme =
        bits == 1 ? lq::QuantizedVectors::Scheme::Binary : lq::QuantizedVectors::Scheme::Rtn;
    part.bits = bits;
    part.count = 4;
    part.length = length;
    part.groupSize = groupSize;
    part.layout = layout;
    return part;
}

} // namespace

class PackedKernelTest : public QObject
{
    Q_OBJECT

private slots:
    void randomShapes_data()
    {
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("r");
        QTest::addColumn<int>("h"); // -1: the reference's ratio rule
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("groupSize");
        QTest::addColumn<lq::GroupLayout>("layout");
        QTest::addColumn<lq::ScaleFormat>("scales");
        QTest::addColumn<int>("tokens");
        const auto pc = lq::GroupLayout::PerComponent;
        const auto flat = lq::GroupLayout::Flattened;
        const auto f16 = lq::ScaleFormat::F16;
        const auto f32 = lq::ScaleFormat::F32;
        // clang-format off
        QTest::newRow("smaller than a group, b1")      << 64   << 96   << 4  << -1 << 1 << 128 << pc   << f16 << 1;
        QTest::newRow("m, n not multiples of g, b2")   << 300  << 1000 << 8  << -1 << 2 << 128 << pc   << f16 << 3;
        QTest::newRow("r = 1, m = 1, n = tile + 1, b3") << 1   << 513  << 1  << -1 << 3 << 128 << pc   << f16 << 5;
        QTest::newRow("flattened, g = 100, f32, b4")   << 777  << 1025 << 5  << -1 << 4 << 100 << flat << f32 << 7;
        QTest::newRow("T = 256, b5")                   << 512  << 512  << 16 << -1 << 5 << 128 << pc   << f16 << 256;
        QTest::newRow("groups of one, b6")             << 129  << 130  << 3  << -1 << 6 << 1   << pc   << f32 << 2;
        QTest::newRow("flattened, odd n, b7")          << 1030 << 33   << 2  << -1 << 7 << 64  << flat << f16 << 9;
        QTest::newRow("h = 0 (all binary), b8")        << 200  << 300  << 4  << 0  << 8 << 128 << pc   << f16 << 4;
        QTest::newRow("h = r (no binary), b3")         << 200  << 300  << 4  << 4  << 3 << 128 << pc   << f16 << 4;
        QTest::newRow("parallel, T = 1, b2")           << 4096 << 4096 << 16 << -1 << 2 << 128 << pc   << f16 << 1;
        QTest::newRow("parallel, T = 8, odd, b3")      << 2001 << 3003 << 16 << -1 << 3 << 128 << pc   << f16 << 8;
        // Shapes the mask kernel takes (m, n and g multiples of 16): every bit width, groups of
        // 16, groups that straddle the 512-value tiles (48), flattened whole groups, row blocks
        // of 8 + 4 + 2 + 1 (r - h = 15) and 8 + 8 + 4 + 1 (r = 21, h = 0), partial chunk blocks.
        QTest::newRow("mask, b1, g = 16")              << 160  << 96   << 4  << 1  << 1 << 16  << pc   << f16 << 1;
        QTest::newRow("mask, b2, r - h = 15")          << 1024 << 768  << 16 << 1  << 2 << 128 << pc   << f16 << 1;
        QTest::newRow("mask, b3, g = 48 over tiles")   << 1056 << 1536 << 8  << 3  << 3 << 48  << pc   << f32 << 2;
        QTest::newRow("mask, b4, flattened whole")     << 512  << 1024 << 6  << 2  << 4 << 256 << flat << f16 << 3;
        QTest::newRow("mask, b5, T = 17")              << 208  << 336  << 5  << 5  << 5 << 16  << pc   << f16 << 17;
        QTest::newRow("mask, b6, short last group")    << 336  << 1040 << 7  << 4  << 6 << 128 << pc   << f32 << 2;
        QTest::newRow("mask, b7")                      << 96   << 64   << 3  << 2  << 7 << 32  << pc   << f16 << 1;
        QTest::newRow("mask, b8, r = 21, h = 0")       << 640  << 528  << 21 << 0  << 8 << 64  << pc   << f16 << 2;
        QTest::newRow("mask, b8, h = r")               << 64   << 80   << 3  << 3  << 8 << 16  << pc   << f16 << 1;
        // More than 16 binary rows share the lookup's tables of x (38 = 16 + 16 + 6), groups of
        // 16 give 32 scales per 512-value tile (read 16 at a time), f32 scales.
        QTest::newRow("mask, 38 binary rows, g = 16")  << 528  << 1040 << 40 << 2  << 2 << 16  << pc   << f32 << 3;
        // From 4 tokens on, the AVX2 form decodes tiles and multiplies them in blocks of two
        // components by two tokens (A side) and four tokens (B side), both parts together: odd
        // counts of components and tokens leave single ones, more than 8 components take two
        // blocks (h = 0), groups straddle tiles, and T = 64 as in bench_kernels.
        QTest::newRow("mask, b2, r - h = 15, T = 9")   << 1024 << 768  << 16 << 1  << 2 << 128 << pc   << f16 << 9;
        QTest::newRow("mask, b3, g = 48, T = 6")       << 1056 << 1536 << 8  << 3  << 3 << 48  << pc   << f32 << 6;
        QTest::newRow("mask, b4, flattened, T = 64")   << 512  << 1024 << 6  << 2  << 4 << 256 << flat << f16 << 64;
        QTest::newRow("mask, b1 RTN, h = r, T = 4")    << 160  << 96   << 3  << 3  << 1 << 16  << pc   << f16 << 4;
        QTest::newRow("mask, b2, h = 0, r = 12, T = 5") << 256 << 512  << 12 << 0  << 2 << 32  << pc   << f16 << 5;
        // clang-format on
    }

    void randomShapes()
    {
        QFETCH(int, m);
        QFETCH(int, n);
        QFETCH(int, r);
        QFETCH(int, h);
        QFETCH(int, bits);
        QFETCH(int, groupSize);
        QFETCH(lq::GroupLayout, layout);
        QFETCH(lq::ScaleFormat, scales);
        QFETCH(int, tokens);
        const lq::Adapter source =
            packedtest::randomAdapter({{m, n, r}}, std::uint64_t(m * 131 + n * 7 + r));
        lq::QuantSettings settings = packedtest::settingsFor(bits, groupSize, layout, scales);
        if (h >= 0) {
            settings.split = lq::SplitRule::Fixed;
            settings.fixedH = h;
        }
        const Packed packed = quantizeAndPack(source, settings);
        const lq::PackedModule& module = packed.adapter.modules[0];
        if (h >= 0)
            QCOMPARE(module.h, h);

        // The reference is the engine's dequantized product.
        const Eigen::MatrixXf x = lq::randomActivations(n, tokens, 99);
        Eigen::MatrixXf reference(m, tokens);
        lq::applyReference(module, x, reference);
        const Eigen::MatrixXd exact = engineProduct(packed.result.modules[0], module.loraScale, x);
        QVERIFY2(normwise(reference, exact) <= kReferenceTolerance,
                 qPrintable(QStringLiteral("%1").arg(normwise(reference, exact))));

        for (const lq::KernelPath path : kAllPaths) {
            const lq::ScopedKernelPath only(path);
            lq::KernelValidationSettings check;
            check.tokens = tokens;
            check.timingRuns = 1;
            const lq::KernelValidationResult result = lq::validateKernels(packed.adapter, check);
            QVERIFY(result.passed);
            QCOMPARE(result.modules.size(), std::size_t(1));
            QVERIFY2(result.modules[0].relError <= lq::kKernelRelTolerance,
                     qPrintable(QStringLiteral("%1 path: relative error %2")
                                    .arg(lq::kernelPathName(path))
                                    .arg(result.modules[0].relError)));
            QVERIFY(result.modules[0].maxAbsOutput > 0);
            Eigen::MatrixXf kernel(m, tokens);
            lq::applyPacked(module, x, kernel);
            QVERIFY(normwise(kernel, exact) <= lq::kKernelRelTolerance);
        }
    }

    // Fixed tiles and summation order: one thread and two give the same bits, on a shape of the
    // decoding path and one of the mask kernel, and in one call for all modules.
    void independentOfThreads()
    {
        const lq::Adapter source =
            packedtest::randomAdapter({{3000, 2500, 16}, {3072, 2560, 16}}, 21);
        const Packed packed =
            quantizeAndPack(source, packedtest::settingsFor(2, 128, lq::GroupLayout::PerComponent,
                                                            lq::ScaleFormat::F16));
        const int threads = omp_get_max_threads();
        for (const lq::PackedModule& module : packed.adapter.modules) {
            const Eigen::MatrixXf x = lq::randomActivations(module.n, 8, 5);
            Eigen::MatrixXf one(module.m, 8), two(module.m, 8);
            omp_set_num_threads(1);
            lq::applyPacked(module, x, one);
            omp_set_num_threads(2);
            lq::applyPacked(module, x, two);
            omp_set_num_threads(threads);
            QVERIFY(std::memcmp(one.data(), two.data(), sizeof(float) * std::size_t(one.size())) ==
                    0);
        }
    }

    // The mask kernel's entry points on ranges longer than the kernel's tiles, part by part and,
    // in the AVX2 form, factor by factor as it applies many tokens (decoded in chunks of 512
    // values, the chunks' sums added), for one token and for six, against the dequantized
    // factors.
    void maskKernelOverLongRanges()
    {
        namespace pd = lq::packed_detail;
        const lq::CpuFeatures& cpu = lq::CpuFeatures::detected();
        if (!cpu.avx512 && !cpu.avx2)
            QSKIP("this CPU has neither AVX2 nor AVX-512: the mask kernel never runs here");
        const lq::Adapter source = packedtest::randomAdapter({{1056, 1536, 16}}, 41);
        lq::QuantSettings settings =
            packedtest::settingsFor(2, 128, lq::GroupLayout::PerComponent, lq::ScaleFormat::F16);
        settings.split = lq::SplitRule::Fixed;
        settings.fixedH = 3;
        const Packed packed = quantizeAndPack(source, settings);
        const lq::PackedModule& module = packed.adapter.modules[0];
        const Eigen::MatrixXd a = lq::dequantizedA(module).cast<double>();
        const Eigen::MatrixXd b = lq::dequantizedB(module).cast<double>();
        const std::int64_t h = module.h;
        const int r = module.r;
        const auto check = [&](const char* what, int tokens, const Eigen::MatrixXf& got,
                               const Eigen::MatrixXd& exact) {
            const double error = normwise(got, exact);
            QVERIFY2(error <= lq::kKernelRelTolerance,
                     qPrintable(QStringLiteral("%1, T = %2: %3").arg(what).arg(tokens).arg(error)));
        };
        // The part-by-part entry points of each form this CPU runs.
        struct Form
        {
            lq::KernelPath path;
            decltype(&pd::maskRowsTimesX) rowsTimesX;
            decltype(&pd::maskColumnsTimesT) columnsTimesT;
        };
        std::vector<Form> forms;
        if (cpu.avx512)
            forms.push_back(
                {lq::KernelPath::MaskAvx512, pd::maskRowsTimesX, pd::maskColumnsTimesT});
        if (cpu.avx2)
            forms.push_back({lq::KernelPath::MaskAvx2, pd::avx2RowsTimesX, pd::avx2ColumnsTimesT});
        for (const Form& form : forms) {
            for (const lq::PackedVectors* part :
                 {&module.aHigh, &module.aLow, &module.bHigh, &module.bLow})
                QCOMPARE(lq::choosePath(*part, 1, cpu, form.path), form.path);
            for (const int tokens : {1, 6}) {
                const Eigen::MatrixXf x = lq::randomActivations(module.n, tokens, 7);
                const Eigen::MatrixXd axExact = a * x.cast<double>();
                // t[c * tokens + token]: the components of one token are a column of t^T.
                const Eigen::MatrixXf t = lq::randomActivations(tokens, r, 8);
                const Eigen::MatrixXd yExact = b * t.transpose().cast<double>();

                Eigen::MatrixXf ax(tokens, r); // out[c * tokens + token], i.e. (A_hat X)^T
                form.rowsTimesX(module.aHigh, 0, module.n, x.data(), x.rows(), tokens, ax.data());
                form.rowsTimesX(module.aLow, 0, module.n, x.data(), x.rows(), tokens,
                                ax.data() + h * tokens);
                check("A side, part by part", tokens, ax.transpose(), axExact);
                Eigen::MatrixXf y(module.m, tokens);
                form.columnsTimesT(module.bHigh, 0, module.m, t.data(), tokens, y.data(), y.rows(),
                                   false);
                form.columnsTimesT(module.bLow, 0, module.m, t.data() + h * tokens, tokens,
                                   y.data(), y.rows(), true);
                check("B side, part by part", tokens, y, yExact);

                if (form.path != lq::KernelPath::MaskAvx2)
                    continue;
                ax.setZero();
                pd::avx2FactorRowsTimesX(module.aHigh, module.aLow, 0, module.n, x.data(), x.rows(),
                                         tokens, ax.data());
                check("A side, decoded factor", tokens, ax.transpose(), axExact);
                y.setZero();
                pd::avx2FactorColumnsTimesT(module.bHigh, module.bLow, 0, module.m, t.data(),
                                            tokens, y.data(), y.rows());
                check("B side, decoded factor", tokens, y, yExact);
            }
        }
    }

    // The dispatch's table for every kind of CPU (not only this one): the first path a part's
    // shape, width and token count allow. A wrong answer runs a kernel on a CPU without its
    // instructions (a crash) or a slower path than the CPU has (docs/KERNELS.md's figures).
    void choosesPathPerCpu()
    {
        using P = lq::KernelPath;
        lq::CpuFeatures none, avx2, avx512, lookup;
        avx2.avx2 = true;
        avx512 = avx2;
        avx512.avx512 = true;
        lookup = avx512;
        lookup.avx512Lookup = true;
        const lq::PackedVectors binary = partShape(1, 4096, 128);
        const lq::PackedVectors rtn4 = partShape(4, 4096, 128);
        const lq::PackedVectors rtn5 = partShape(5, 4096, 128);
        // clang-format off
        const struct { const char* what; const lq::PackedVectors& part; int tokens; const lq::CpuFeatures& cpu; P path; } rows[] = {
            {"binary, no AVX2",        binary, 1,  none,   P::Decoding},
            {"binary, AVX2, T = 1",    binary, 1,  avx2,   P::MaskAvx2},
            {"binary, AVX2, T = 3",    binary, 3,  avx2,   P::MaskAvx2},
            {"binary, AVX2, T = 4",    binary, 4,  avx2,   P::Avx2DecodedTiles},
            {"binary, AVX-512, T = 1", binary, 1,  avx512, P::MaskAvx512},
            {"binary, AVX-512, T = 64", binary, 64, avx512, P::MaskAvx512},
            {"binary, lookup, T = 1",  binary, 1,  lookup, P::Lookup},
            {"binary, lookup, T = 64", binary, 64, lookup, P::Lookup},
            {"b4, AVX2, T = 8",        rtn4,   8,  avx2,   P::Avx2DecodedTiles},
            {"b4, lookup",             rtn4,   1,  lookup, P::Lookup},
            {"b5, AVX2",               rtn5,   1,  avx2,   P::Decoding},
            {"b5, AVX2, T = 8",        rtn5,   8,  avx2,   P::Decoding},
            {"b5, AVX-512",            rtn5,   1,  avx512, P::MaskAvx512},
            {"b5, lookup",             rtn5,   1,  lookup, P::MaskAvx512},
        };
        // clang-format on
        for (const auto& row : rows)
            QVERIFY2(
                lq::choosePath(row.part, row.tokens, row.cpu) == row.path,
                qPrintable(QStringLiteral("%1: %2").arg(
                    row.what, lq::kernelPathName(lq::choosePath(row.part, row.tokens, row.cpu)))));

        // Shapes the vector kernels cannot step through 16 codes at a time decode on any CPU.
        for (const lq::PackedVectors& part :
             {partShape(1, 4100, 128), partShape(2, 4096, 100), partShape(2, 4096, 8),
              partShape(2, 1024, 160, lq::GroupLayout::Flattened)})
            QCOMPARE(lq::choosePath(part, 1, lookup), P::Decoding);
        // Flattened groups that are whole vectors are per-vector groups.
        QCOMPARE(lq::choosePath(partShape(2, 1024, 256, lq::GroupLayout::Flattened), 1, lookup),
                 P::Lookup);

        // A preferred path is taken where the part allows it, else the first one after it.
        QCOMPARE(lq::choosePath(binary, 1, lookup, P::MaskAvx512), P::MaskAvx512);
        QCOMPARE(lq::choosePath(binary, 1, lookup, P::Avx2DecodedTiles), P::MaskAvx2);
        QCOMPARE(lq::choosePath(binary, 8, lookup, P::Avx2DecodedTiles), P::Avx2DecodedTiles);
        QCOMPARE(lq::choosePath(binary, 8, lookup, P::MaskAvx2), P::MaskAvx2);
        QCOMPARE(lq::choosePath(rtn5, 1, lookup, P::Avx2DecodedTiles), P::Decoding);
        QCOMPARE(lq::choosePath(binary, 8, lookup, P::Decoding), P::Decoding);
        QCOMPARE(lq::choosePath(binary, 1, avx2, P::Lookup), P::MaskAvx2);
    }

    // The scoped limit holds for the whole module while alive (a part that must decode takes the
    // module with it), and its end restores the limit before it, nested or not.
    void scopedPathRestores()
    {
        const lq::Adapter source = packedtest::randomAdapter({{1024, 768, 8}}, 5);
        lq::QuantSettings settings =
            packedtest::settingsFor(2, 128, lq::GroupLayout::PerComponent, lq::ScaleFormat::F16);
        const Packed packed = quantizeAndPack(source, settings);
        const lq::PackedModule& module = packed.adapter.modules[0];
        const lq::KernelPath free = lq::currentPath(module.bLow, 8);
        QCOMPARE(free, lq::choosePath(module.bLow, 8, lq::CpuFeatures::detected()));
        {
            const lq::ScopedKernelPath outer(lq::KernelPath::Decoding);
            QVERIFY(lq::chooseModulePaths(module, 8).decodes());
            {
                const lq::ScopedKernelPath inner(lq::KernelPath::Lookup);
                QCOMPARE(lq::currentPath(module.bLow, 8), free);
            }
            QCOMPARE(lq::currentPath(module.bLow, 8), lq::KernelPath::Decoding);
        }
        QCOMPARE(lq::currentPath(module.bLow, 8), free);

        // One part that cannot take a vector kernel (n not a multiple of 16) decodes the module.
        const lq::Adapter odd = packedtest::randomAdapter({{1024, 760, 8}}, 5);
        const Packed oddPacked = quantizeAndPack(odd, settings);
        QVERIFY(lq::chooseModulePaths(oddPacked.adapter.modules[0], 8).decodes());
    }

    // applyPackedModules gives applyPacked's bits for every module (mask and decoding shapes,
    // T = 1 and 5), and checks every shape before it writes anything.
    void manyModulesAtOnce()
    {
        const lq::Adapter source = packedtest::randomAdapter(
            {{512, 768, 8}, {300, 200, 4}, {1024, 256, 16}, {64, 64, 1}, {96, 2048, 6}}, 3);
        const Packed packed = quantizeAndPack(source, lq::QuantSettings());
        const std::vector<lq::PackedModule>& modules = packed.adapter.modules;
        for (const int tokens : {1, 5}) {
            std::vector<Eigen::MatrixXf> xs, ys, alone;
            for (std::size_t i = 0; i < modules.size(); ++i) {
                xs.push_back(lq::randomActivations(modules[i].n, tokens, i));
                ys.emplace_back(modules[i].m, tokens);
                alone.emplace_back(modules[i].m, tokens);
                lq::applyPacked(modules[i], xs[i], alone[i]);
            }
            lq::applyPackedModules(modules, xs, ys);
            for (std::size_t i = 0; i < modules.size(); ++i)
                QVERIFY2(std::memcmp(ys[i].data(), alone[i].data(),
                                     sizeof(float) * std::size_t(ys[i].size())) == 0,
                         modules[i].name.c_str());
        }

        std::vector<Eigen::MatrixXf> xs, ys;
        for (const lq::PackedModule& module : modules) {
            xs.push_back(lq::randomActivations(module.n, 2, 1));
            ys.push_back(Eigen::MatrixXf::Constant(module.m, 2, 7.0f));
        }
        xs.back().resize(xs.back().rows() - 1, 2); // the last module's input is one row short
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::applyPackedModules(modules, xs, ys));
        for (const Eigen::MatrixXf& y : ys)
            QVERIFY((y.array() == 7.0f).all());
        xs.pop_back();
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::applyPackedModules(modules, xs, ys));
    }

    // Y may be a block of a larger matrix (a batch laid out by the caller) and X a mapped buffer.
    void stridedOperands()
    {
        const lq::Adapter source = packedtest::randomAdapter({{70, 90, 3}}, 8);
        const Packed packed = quantizeAndPack(source, lq::QuantSettings());
        const lq::PackedModule& module = packed.adapter.modules[0];
        Eigen::MatrixXf big = Eigen::MatrixXf::Constant(100, 5, 7.0f);
        const Eigen::MatrixXf x = lq::randomActivations(90, 3, 1);
        lq::applyPacked(module, x, big.block(10, 1, 70, 3));
        Eigen::MatrixXf alone(70, 3);
        lq::applyPacked(module, x, alone);
        QVERIFY(big.block(10, 1, 70, 3) == alone);
        QCOMPARE(big(9, 1), 7.0f); // untouched around the block
        QCOMPARE(big(80, 1), 7.0f);
        QCOMPARE(big(10, 0), 7.0f);
    }

    void sharedAdapters_data()
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

    // Every module of the real adapters within tolerance, and the kernel's output close to the
    // engine's dequantized product.
    void sharedAdapters()
    {
        LQ_REQUIRE_SHARED();
        QFETCH(QString, adapter);
        QFETCH(bool, paperExact);
        const lq::Adapter source =
            lq::Adapter::load((lqtest::adaptersDir() + "/" + adapter).toStdString());
        lq::QuantSettings settings;
        if (paperExact)
            settings = lq::QuantSettings::paperExact(0.9, 3, false);
        else
            settings.rho = 0.9;
        const Packed packed = quantizeAndPack(source, settings);
        lq::KernelValidationSettings check;
        check.tokens = 4;
        check.timingRuns = 1;
        const lq::KernelValidationResult result = lq::validateKernels(packed.adapter, check);
        QCOMPARE(result.modules.size(), source.modules().size());
        QVERIFY2(result.passed, result.warnings.empty() ? "" : result.warnings[0].c_str());
        qInfo("%s: largest relative error %.2e over %zu modules (tolerance %.0e)",
              qPrintable(adapter), result.maxRelError, result.modules.size(),
              lq::kKernelRelTolerance);
        for (std::size_t i = 0; i < packed.adapter.modules.size(); i += 7) {
            const lq::PackedModule& module = packed.adapter.modules[i];
            const Eigen::MatrixXf x = lq::randomActivations(module.n, 2, i);
            Eigen::MatrixXf y(module.m, 2);
            lq::applyPacked(module, x, y);
            QVERIFY(normwise(y, engineProduct(packed.result.modules[i], module.loraScale, x)) <=
                    lq::kKernelRelTolerance);
        }
    }

    void progressAndCancel()
    {
        const lq::Adapter source =
            packedtest::randomAdapter({{40, 50, 2}, {60, 30, 3}, {20, 20, 1}}, 2);
        const Packed packed = quantizeAndPack(source, lq::QuantSettings());
        std::vector<std::pair<int, int>> calls;
        lq::KernelValidationSettings check;
        check.timingRuns = 1;
        const auto all = lq::validateKernels(packed.adapter, check, [&](int done, int total) {
            calls.emplace_back(done, total);
            return true;
        });
        QVERIFY(all.passed && !all.cancelled);
        QCOMPARE(calls, (std::vector<std::pair<int, int>>{{1, 3}, {2, 3}, {3, 3}}));

        const auto stopped =
            lq::validateKernels(packed.adapter, check, [](int, int) { return false; });
        QVERIFY(stopped.cancelled);
        QVERIFY(!stopped.passed); // a cancelled run never reports success
        QCOMPARE(stopped.modules.size(), std::size_t(1));
    }

    void rejectsBadCalls()
    {
        const lq::Adapter source = packedtest::randomAdapter({{40, 50, 2}}, 2);
        const Packed packed = quantizeAndPack(source, lq::QuantSettings());
        const lq::PackedModule& module = packed.adapter.modules[0];
        Eigen::MatrixXf y(40, 2);
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::applyPacked(module, Eigen::MatrixXf(49, 2), y));
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::applyPacked(module, Eigen::MatrixXf(50, 3), y));
        lq::KernelValidationSettings check;
        check.tokens = 0;
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::validateKernels(packed.adapter, check));
    }
};

QTEST_GUILESS_MAIN(PackedKernelTest)
#include "packedkerneltest.moc"
