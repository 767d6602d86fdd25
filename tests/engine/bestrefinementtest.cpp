// `--refine best` against the paper's refinement and plain quantization at the same settings, as
// a user comparing them would: clearly lower total error for exactly the same bits, never worse
// than no refinement on any module, the same result for any thread count, and finite results on
// zero and rank-deficient modules.

#include "core/engine/adapterquantizer.h"
#include "core/io/adapter.h"
#include "llamalike.h"
#include "shareddata.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <omp.h>
#include <random>

using namespace lq;
using lqtest::llamaLike;
using lqtest::moduleOf;

namespace {

// The advantage issue 6 asks of `best` over the paper's refinement: at least 20% lower
// energy-weighted total error at the same settings (so the same bits).
constexpr double kRequiredGain = 0.20;
// `best` returns the plain quantization whenever its own result is not strictly better, comparing
// the two with B'A' in place of B A; quantizeAdapter measures both against the original B A. The
// two products differ by float rounding (~1e-7 of ||B A||), so a "not worse" is checked up to
// this fraction of ||B A||_F^2.
constexpr double kErrorFormulaTolerance = 1e-6;

Eigen::MatrixXf uniform(int rows, int cols, std::mt19937& engine, float scale)
{
    Eigen::MatrixXf x(rows, cols);
    for (Eigen::Index i = 0; i < x.size(); ++i)
        x.data()[i] = scale * float(double(engine()) / 2147483648.0 - 1.0);
    return x;
}

QuantSettings withRefine(QuantSettings settings, Refinement refine)
{
    settings.refine = refine;
    return settings;
}

bool allFinite(const QuantizedVectors& q)
{
    for (float s : q.scales)
        if (!std::isfinite(s))
            return false;
    return true;
}

// The same parts, value for value.
bool sameParts(const QuantizedVectors& a, const QuantizedVectors& b)
{
    return a.codes == b.codes && a.scales == b.scales && a.zeros == b.zeros;
}

struct Comparison
{
    QuantResult none, paper, best;
};

Comparison compareAll(const Adapter& adapter, const QuantSettings& settings)
{
    return {quantizeAdapter(adapter, withRefine(settings, Refinement::None)),
            quantizeAdapter(adapter, withRefine(settings, Refinement::Paper)),
            quantizeAdapter(adapter, withRefine(settings, Refinement::Best))};
}

// What every comparison asserts: same bits (adapter and module), never worse than none.
void checkSameBitsNeverWorse(const Comparison& c)
{
    QCOMPARE(c.best.modules.size(), c.none.modules.size());
    QCOMPARE(c.best.avgBitsPaper, c.paper.avgBitsPaper);
    QCOMPARE(c.best.avgBitsTrue, c.paper.avgBitsTrue);
    for (std::size_t i = 0; i < c.best.modules.size(); ++i) {
        const ModuleResult& best = c.best.modules[i];
        const ModuleResult& none = c.none.modules[i];
        QCOMPARE(best.bitsPaper, none.bitsPaper);
        QCOMPARE(best.bitsTrue, none.bitsTrue);
        QVERIFY2(std::isfinite(best.errSq), best.name.c_str());
        QVERIFY2(best.errSq <= none.errSq + kErrorFormulaTolerance * none.normSq,
                 qPrintable(QString("%1: best %2 > none %3")
                                .arg(QString::fromStdString(best.name))
                                .arg(best.relErr)
                                .arg(none.relErr)));
    }
}

QString figures(const Comparison& c)
{
    return QString("none %1, paper %2, best %3 (%4% below paper)")
        .arg(c.none.relErrTotal, 0, 'f', 4)
        .arg(c.paper.relErrTotal, 0, 'f', 4)
        .arg(c.best.relErrTotal, 0, 'f', 4)
        .arg(100 * (1 - c.best.relErrTotal / c.paper.relErrTotal), 0, 'f', 1);
}

} // namespace

class BestRefinementTest : public QObject
{
    Q_OBJECT

private slots:
    void sharedAdapters_data();
    void sharedAdapters();
    void llamaLikeAdapter();
    void threadCountIndependent();
    void degenerateModules();
    void flattenedGroupsAcrossComponents();
    void cli();
};

void BestRefinementTest::sharedAdapters_data()
{
    QTest::addColumn<QString>("adapter");
    QTest::addColumn<bool>("paperExact");
    QTest::addColumn<int>("bitsHigh");
    if (!lqtest::haveShared()) {
        QTest::newRow("no shared data") << QString() << false << 2;
        return;
    }
    for (const QString& name : lqtest::sharedAdapterNames()) {
        QTest::addRow("%s default b_h=2", qPrintable(name)) << name << false << 2;
        QTest::addRow("%s paper-exact b_h=2", qPrintable(name)) << name << true << 2;
    }
}

// The target on the shared adapters at rho 0.8, b_h 2, in this project's default storage
// and in the reference's. One exception, by arithmetic rather than by choice: an adapter whose
// modules all have rank 1 (opencalm1b-qkv-r1) has h = r = 1, so M_hat = x_hat y_hat^T and
// ||M - M_hat||^2 / ||M||^2 = 1 - cos^2(x, x_hat) cos^2(y, y_hat) for the best common scale:
// x and y are quantized independently and, with a free scale per group, each group's best
// (scale, zero, codes) is the whole optimum. The paper's refinement (which learns each group's
// range) already comes within 1% of that optimum (a dense scan of every group's scale and zero
// point gives 0.5319 against the paper's 0.5361), so no method with this storage is 20% better;
// there `best` must still beat it.
void BestRefinementTest::sharedAdapters()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QString, adapter);
    QFETCH(bool, paperExact);
    QFETCH(int, bitsHigh);
    const Adapter loaded = Adapter::load((lqtest::adaptersDir() + "/" + adapter).toStdString());
    QuantSettings settings =
        paperExact ? QuantSettings::paperExact(0.8, bitsHigh, false) : QuantSettings{};
    settings.bitsHigh = bitsHigh;
    const Comparison c = compareAll(loaded, settings);
    checkSameBitsNeverWorse(c);
    qInfo("%s", qPrintable(figures(c)));

    bool rankOne = true;
    for (const LoraModule& module : loaded.modules())
        rankOne = rankOne && module.r == 1;
    if (rankOne) {
        QVERIFY2(c.best.relErrTotal < c.paper.relErrTotal, qPrintable(figures(c)));
        return;
    }
    QVERIFY2(c.best.relErrTotal <= (1 - kRequiredGain) * c.paper.relErrTotal,
             qPrintable(figures(c)));
}

// The first two layers of the synthetic llama2-7b r16 adapter (14 of its 224 modules, same shapes
// and spectra): the whole adapter takes about 10 s with `best` alone, too long for a test. Both
// of the paper's high bit widths: at b_h 3 the paper's refinement starts from a much smaller
// error, so the advantage is not implied by the one at b_h 2.
void BestRefinementTest::llamaLikeAdapter()
{
    const Adapter adapter = llamaLike(2);
    QCOMPARE(int(adapter.modules().size()), 14);
    for (int bitsHigh : {2, 3}) {
        for (bool paperExact : {false, true}) {
            QuantSettings settings =
                paperExact ? QuantSettings::paperExact(0.8, bitsHigh, false) : QuantSettings{};
            settings.bitsHigh = bitsHigh;
            const Comparison c = compareAll(adapter, settings);
            checkSameBitsNeverWorse(c);
            qInfo("b_h %d %s: %s", bitsHigh, paperExact ? "paper-exact" : "default",
                  qPrintable(figures(c)));
            QVERIFY2(c.best.relErrTotal <= (1 - kRequiredGain) * c.paper.relErrTotal,
                     qPrintable(figures(c)));
        }
    }
}

// Codes, scales and zero points, not only the errors, are the same for 1, 2 and 3 threads: at
// rank 16 and at rank 4, where the row search and the extra alternation rounds run.
void BestRefinementTest::threadCountIndependent()
{
    for (int rank : {16, 4}) {
        const Adapter adapter = llamaLike(1, rank);
        QuantSettings settings;
        settings.refine = Refinement::Best;
        const int before = omp_get_max_threads();
        std::vector<QuantResult> results;
        for (int threads : {1, 2, 3}) {
            omp_set_num_threads(threads);
            results.push_back(quantizeAdapter(adapter, settings));
        }
        omp_set_num_threads(before);
        for (std::size_t t = 1; t < results.size(); ++t) {
            QCOMPARE(results[t].relErrTotal, results[0].relErrTotal);
            for (std::size_t i = 0; i < results[0].modules.size(); ++i) {
                const ModuleResult& a = results[0].modules[i];
                const ModuleResult& b = results[t].modules[i];
                QVERIFY(sameParts(a.bHigh, b.bHigh) && sameParts(a.aHigh, b.aHigh));
                QVERIFY(sameParts(a.bLow, b.bLow) && sameParts(a.aLow, b.aLow));
                QCOMPARE(a.errSq, b.errSq);
            }
        }
    }
}

// A freshly initialised LoRA (B = 0), a rank-deficient one (rank 2 of r = 6), one with a zero
// component and one with r > m: finite scales and errors, the zero update reconstructed exactly,
// the same bits as without refinement, never worse.
void BestRefinementTest::degenerateModules()
{
    std::mt19937 engine(7);
    std::vector<LoraModule> modules;
    std::vector<ModuleFactors> factors;
    const auto add = [&](const std::string& name, ModuleFactors f) {
        modules.push_back(moduleOf(name, f));
        factors.push_back(std::move(f));
    };
    add("zero", {Eigen::MatrixXf::Zero(300, 8), uniform(8, 200, engine, 0.02f)});
    {
        const Eigen::MatrixXf left = uniform(300, 2, engine, 0.05f);
        const Eigen::MatrixXf mix = uniform(2, 6, engine, 1.0f);
        add("rank2of6", {left * mix, uniform(6, 260, engine, 0.02f)});
    }
    {
        Eigen::MatrixXf B = uniform(256, 4, engine, 0.05f);
        Eigen::MatrixXf A = uniform(4, 384, engine, 0.02f);
        A.row(2).setZero();
        add("zeroComponent", {B, A});
    }
    add("rankAboveM", {uniform(6, 8, engine, 0.05f), uniform(8, 130, engine, 0.02f)});
    const Adapter adapter =
        Adapter::fromFactors("degenerate", std::move(modules), std::move(factors));

    for (bool paperExact : {false, true}) {
        QuantSettings settings =
            paperExact ? QuantSettings::paperExact(0.9, 3, false) : QuantSettings{};
        settings.split = SplitRule::Fixed;
        settings.fixedH = 2;
        const Comparison c = compareAll(adapter, settings);
        checkSameBitsNeverWorse(c);
        QVERIFY(std::isfinite(c.best.relErrTotal));
        for (const ModuleResult& module : c.best.modules) {
            QVERIFY2(allFinite(module.bHigh) && allFinite(module.aHigh) && allFinite(module.bLow) &&
                         allFinite(module.aLow),
                     module.name.c_str());
            QVERIFY2(module.dequantizedB().allFinite() && module.dequantizedA().allFinite(),
                     module.name.c_str());
            QVERIFY2(std::isfinite(module.relErr), module.name.c_str());
        }
        QCOMPARE(c.best.modules[0].errSq, 0.0);
        QCOMPARE(c.best.modules[0].relErr, 0.0);
    }
}

// Flattened groups with m and n not multiples of the group size: groups span two components, so
// the joint scale refit is one sparse system instead of per-run blocks. Same guarantees.
void BestRefinementTest::flattenedGroupsAcrossComponents()
{
    std::mt19937 engine(11);
    std::vector<LoraModule> modules;
    std::vector<ModuleFactors> factors;
    for (int i = 0; i < 3; ++i) {
        ModuleFactors f{uniform(200 + 37 * i, 6, engine, 0.05f),
                        uniform(6, 300 - 41 * i, engine, 0.02f)};
        modules.push_back(moduleOf("flat." + std::to_string(i), f));
        factors.push_back(std::move(f));
    }
    const Adapter adapter = Adapter::fromFactors("flat", std::move(modules), std::move(factors));
    QuantSettings settings = QuantSettings::paperExact(0.8, 2, false);
    settings.split = SplitRule::Fixed;
    settings.fixedH = 3;
    const Comparison c = compareAll(adapter, settings);
    checkSameBitsNeverWorse(c);
    QVERIFY2(c.best.relErrTotal < c.none.relErrTotal, qPrintable(figures(c)));
}

// `loraquant quantize --refine best` reports what the library computes.
void BestRefinementTest::cli()
{
    LQ_REQUIRE_SHARED();
    const QString path = lqtest::adaptersDir() + "/gptneo125m-qv-r8-f32";
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString report = dir.path() + "/best.json";
    QProcess process;
    process.start(QStringLiteral(LQ_CLI_PATH),
                  {"quantize", path, "--refine", "best", "--report", report});
    QVERIFY(process.waitForFinished(120000));
    QCOMPARE(process.exitCode(), 0);
    QVERIFY(process.readAllStandardOutput().contains("refinement best"));

    QFile file(report);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject json = QJsonDocument::fromJson(file.readAll()).object();
    QCOMPARE(json["settings"].toObject()["refine"].toString(), QString("best"));
    QuantSettings settings;
    settings.refine = Refinement::Best;
    const QuantResult library = quantizeAdapter(Adapter::load(path.toStdString()), settings);
    // The same deterministic code on the same factors; JSON doubles read back exactly.
    QCOMPARE(json["rel_err_total"].toDouble(), library.relErrTotal);
    QCOMPARE(json["avg_bits_true"].toDouble(), library.avgBitsTrue);
}

QTEST_GUILESS_MAIN(BestRefinementTest)
#include "bestrefinementtest.moc"
