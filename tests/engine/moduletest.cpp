// One module and one adapter through the engine: split rules, bit accounting, the trace-formula
// error, the paper refinement's gradient, whole-adapter baselines, threads, progress and cancel.
// These are what the CLI, the workbench and the packed format read off a result.

#include "core/engine/adapterquantizer.h"
#include "core/engine/baseline.h"
#include "core/engine/bitcount.h"
#include "core/engine/paperrefinement.h"
#include "core/engine/quantizer.h"
#include "core/engine/reparameterize.h"
#include "core/engine/splitrule.h"
#include "core/engine/updateerror.h"
#include "core/io/error.h"

#include <QTest>
#include <atomic>
#include <omp.h>
#include <random>

using namespace lq;

Q_DECLARE_METATYPE(std::vector<float>)
Q_DECLARE_METATYPE(lq::GroupLayout)

namespace {

// The trace formula and the dense product are both double sums over float inputs: they agree
// to ~1e-13 relative; 1e-9 leaves room for any order of summation.
constexpr double kTraceTolerance = 1e-9;
// A relative error sqrt(errSq / normSq) inherits that: 1e-6 absolute is far above the rounding
// and far below anything a person would notice.
constexpr double kRelativeErrorTolerance = 1e-6;
// The rank-1 identity L^2 = |b|^2|a|^2 - 2 (b.p)(a.q) + |p|^2|q|^2 against the dense loss: the
// identity's per-group sums are float (relative ~1e-7 each, a few hundred terms), and L^2 is a
// difference of terms of size |b|^2|a|^2, so the bound is on L^2 relative to that.
constexpr double kLossTolerance = 1e-5;
// Tied extremes share one double gradient, divided by their count: equal to the last bit.
constexpr double kTieSplitTolerance = 1e-15;
// Hand-computed dequantized values with scales like 4/3 that float cannot hold exactly.
constexpr float kHandValueTolerance = 1e-6f;
// Finite differences of the dense loss in double with step 1e-6 (relative to the scale) are good
// to ~1e-8; the analytic gradient accumulates its per-group sums in float and is a difference of
// two terms that nearly cancel near the optimum, so its error is relative to the side's largest
// group gradient, not to its own: 1e-4 of that.
constexpr double kGradientTolerance = 1e-4;

Eigen::MatrixXf uniform(int rows, int cols, std::mt19937& engine, float scale)
{
    Eigen::MatrixXf x(rows, cols);
    for (Eigen::Index i = 0; i < x.size(); ++i)
        x.data()[i] = scale * float(double(engine()) / 2147483648.0 - 1.0);
    return x;
}

LoraModule moduleOf(const std::string& name, const ModuleFactors& f)
{
    LoraModule module;
    module.name = name;
    module.m = int(f.B.rows());
    module.n = int(f.A.cols());
    module.r = int(f.B.cols());
    return module;
}

// An in-memory adapter with varied shapes (odd lengths, r = 1, r > m) for the adapter-level
// tests.
Adapter testAdapter(int modules)
{
    std::mt19937 engine(2024);
    const int shapes[][3] = {{96, 160, 8}, {130, 70, 4}, {64, 64, 1}, {6, 90, 8}, {257, 129, 16}};
    std::vector<LoraModule> list;
    std::vector<ModuleFactors> factors;
    for (int i = 0; i < modules; ++i) {
        const auto& s = shapes[i % 5];
        ModuleFactors f{uniform(s[0], s[2], engine, 0.05f), uniform(s[2], s[1], engine, 0.02f)};
        list.push_back(moduleOf("layers." + std::to_string(i) + ".proj", f));
        factors.push_back(std::move(f));
    }
    return Adapter::fromFactors("test adapter", std::move(list), std::move(factors));
}

// The paper refinement's loss with codes and zero points frozen at those of (bCur, aCur), as a
// function of each group's scale; evaluated densely (m x n) in double. An independent check of
// the rank-1 identity and of the gradient formula.
struct FrozenQuantization
{
    std::vector<double> codes; // q_j - z per value
    std::vector<double> scales;
    std::vector<int> groupOf;
};

FrozenQuantization freeze(const std::vector<float>& values, int bits, int groupSize)
{
    const QuantizedVectors q =
        quantizeRtn(values, 1, int(values.size()), bits,
                    {groupSize, GroupLayout::PerComponent, ScaleFormat::F32});
    FrozenQuantization f;
    for (int i = 0; i < int(values.size()); ++i) {
        const int g = q.groupOf(0, i);
        f.codes.push_back(double(q.codes[std::size_t(i)]) - q.zeros[std::size_t(g)]);
        f.groupOf.push_back(g);
    }
    f.scales.assign(q.scales.begin(), q.scales.end());
    return f;
}

double frozenLoss(const std::vector<float>& b, const std::vector<float>& a,
                  const FrozenQuantization& qb, const FrozenQuantization& qa)
{
    double sum = 0;
    for (std::size_t i = 0; i < b.size(); ++i)
        for (std::size_t j = 0; j < a.size(); ++j) {
            const double p = qb.codes[i] * qb.scales[std::size_t(qb.groupOf[i])];
            const double q = qa.codes[j] * qa.scales[std::size_t(qa.groupOf[j])];
            const double d = double(b[i]) * a[j] - p * q;
            sum += d * d;
        }
    return std::sqrt(sum);
}

void expectSameResult(const QuantResult& x, const QuantResult& y)
{
    QCOMPARE(x.modules.size(), y.modules.size());
    for (std::size_t i = 0; i < x.modules.size(); ++i) {
        const ModuleResult& a = x.modules[i];
        const ModuleResult& b = y.modules[i];
        QCOMPARE(a.name, b.name);
        QCOMPARE(a.h, b.h);
        QVERIFY(a.dequantizedB() == b.dequantizedB()); // bit for bit
        QVERIFY(a.dequantizedA() == b.dequantizedA());
        QCOMPARE(a.errSq, b.errSq);
        QCOMPARE(a.bitsTrue, b.bitsTrue);
    }
    QCOMPARE(x.relErrTotal, y.relErrTotal);
}

} // namespace

class ModuleTest : public QObject
{
    Q_OBJECT

private slots:
    void splitRules_data();
    void splitRules();
    void splitSettings();
    void bitCounts_data();
    void bitCounts();
    void traceFormula_data();
    void traceFormula();
    void moduleErrorIsDenseError();
    void refinementGradient_data();
    void refinementGradient();
    void refinementBehaviour();
    void baselineRowMajorGroups();
    void zeroModule();
    void threadCountIndependence();
    void progressAndCancel();
    void errors();
};

void ModuleTest::splitRules_data()
{
    QTest::addColumn<std::vector<float>>("singularValues");
    QTest::addColumn<double>("rho");
    QTest::addColumn<int>("ratio");      // the reference's rule
    QTest::addColumn<int>("ratioCount"); // smallest count reaching rho
    // energies 4, 1 (shares .8, 1): e_0 = .8 >= .8 -> k = 0 -> raised to 1
    QTest::newRow("top holds exactly rho") << std::vector<float>{2, 1} << 0.8 << 1 << 1;
    QTest::newRow("two needed") << std::vector<float>{2, 1} << 0.9 << 1 << 2;
    // energies 1, .25, .25, .01 of 1.51: cumulative .662, .828, .993, 1
    QTest::newRow("decaying, rho .8") << std::vector<float>{1, 0.5f, 0.5f, 0.1f} << 0.8 << 1 << 2;
    QTest::newRow("decaying, rho .9") << std::vector<float>{1, 0.5f, 0.5f, 0.1f} << 0.9 << 2 << 3;
    QTest::newRow("decaying, rho 1") << std::vector<float>{1, 0.5f, 0.5f, 0.1f} << 1.0 << 3 << 4;
    QTest::newRow("flat") << std::vector<float>{1, 1, 1, 1, 1} << 0.7 << 3 << 4;
    QTest::newRow("zero update keeps one") << std::vector<float>{0, 0, 0} << 0.8 << 1 << 1;
}

void ModuleTest::splitRules()
{
    QFETCH(std::vector<float>, singularValues);
    QFETCH(double, rho);
    QFETCH(int, ratio);
    QFETCH(int, ratioCount);
    const Eigen::VectorXf s = Eigen::Map<const Eigen::VectorXf>(
        singularValues.data(), Eigen::Index(singularValues.size()));
    QCOMPARE(ratioRuleH(s, rho), ratio);
    QCOMPARE(ratioCountH(s, rho), ratioCount);
}

void ModuleTest::splitSettings()
{
    const Eigen::VectorXf s = (Eigen::VectorXf(4) << 1, 0.5f, 0.5f, 0.1f).finished();
    QuantSettings settings;
    settings.rho = 0.9;
    QCOMPARE(chooseH(s, settings, "a"), 2);
    settings.split = SplitRule::RatioCount;
    QCOMPARE(chooseH(s, settings, "a"), 3);
    settings.split = SplitRule::Fixed;
    settings.fixedH = 3;
    QCOMPARE(chooseH(s, settings, "a"), 3);
    settings.fixedH = 9; // clamped to r
    QCOMPARE(chooseH(s, settings, "a"), 4);
    settings.hOverride["b"] = 0; // a dragged split wins over the rule
    QCOMPARE(chooseH(s, settings, "b"), 0);
    settings.bitsHighOverride["b"] = 4;
    QCOMPARE(chooseBitsHigh(settings, "b"), 4);
    QCOMPARE(chooseBitsHigh(settings, "a"), settings.bitsHigh);
}

void ModuleTest::bitCounts_data()
{
    QTest::addColumn<GroupLayout>("layout");
    QTest::addColumn<double>("paper");
    QTest::addColumn<double>("stored");
    // m 6, n 4, r 3, h 1, b_h 2, g 4. Paper: 1 (6 + 4) 2 + 2 (6 + 4) 1 = 40.
    // Per component, f16: B' high 1 x 6 -> 2 groups x (16 + 2) = 36; A' high 1 x 4 -> 1 x 18;
    // B' low 2 x 6 -> 4 groups x 16 = 64; A' low 2 x 4 -> 2 x 16 = 32; header 128:
    // 40 + 36 + 18 + 64 + 32 + 128 = 318.
    QTest::newRow("per component") << GroupLayout::PerComponent << 40.0 << 318.0;
    // Flattened: B' low is 12 values -> 3 groups (48 instead of 64): 302.
    QTest::newRow("flattened") << GroupLayout::Flattened << 40.0 << 302.0;
}

void ModuleTest::bitCounts()
{
    QFETCH(GroupLayout, layout);
    QFETCH(double, paper);
    QFETCH(double, stored);
    std::mt19937 engine(3);
    const ModuleFactors f{uniform(6, 3, engine, 1), uniform(3, 4, engine, 1)};
    const LoraModule module = moduleOf("m", f);
    QuantSettings settings;
    settings.groupSize = 4;
    settings.layout = layout;
    settings.scaleFormat = ScaleFormat::F16;
    const ModuleResult result = quantizeModule(module, f, reparameterize(f.B, f.A), 1, 2, settings);
    QCOMPARE(result.bitsPaper, paper);
    QCOMPARE(result.bitsPaper, paperModuleBits(6, 4, 3, 1, 2));
    QCOMPARE(result.bitsTrue, stored);
    QCOMPARE(kModuleHeaderBits, 128);
}

void ModuleTest::traceFormula_data()
{
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("r");
    QTest::newRow("square") << 200 << 200 << 8;
    QTest::newRow("rank 1") << 300 << 50 << 1;
    QTest::newRow("more rows than a chunk") << 1000 << 30 << 3; // the Gram runs in row chunks
    QTest::newRow("r > m") << 5 << 60 << 7;
}

// ||B A - Bh Ah||_F^2 and ||B A||_F^2 from 2r x 2r Gram matrices equal the dense m x n sums.
void ModuleTest::traceFormula()
{
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(int, r);
    std::mt19937 engine(unsigned(m + n + r));
    const Eigen::MatrixXf B = uniform(m, r, engine, 0.1f), A = uniform(r, n, engine, 0.1f);
    const Eigen::MatrixXf Bh = B + uniform(m, r, engine, 0.01f);
    const Eigen::MatrixXf Ah = A + uniform(r, n, engine, 0.01f);
    const UpdateError e = updateError(B, A, Bh, Ah);
    const Eigen::MatrixXd dense = B.cast<double>() * A.cast<double>();
    const Eigen::MatrixXd diff = dense - Bh.cast<double>() * Ah.cast<double>();
    QVERIFY(std::abs(e.normSq - dense.squaredNorm()) <= kTraceTolerance * dense.squaredNorm());
    QVERIFY(std::abs(e.errSq - diff.squaredNorm()) <= kTraceTolerance * dense.squaredNorm());
    QVERIFY(std::abs(e.relative() - diff.norm() / dense.norm()) <= kRelativeErrorTolerance);
}

// The error a module reports is that of its own B_hat, A_hat against the original factors.
void ModuleTest::moduleErrorIsDenseError()
{
    std::mt19937 engine(11);
    const ModuleFactors f{uniform(150, 6, engine, 0.05f), uniform(6, 90, engine, 0.02f)};
    QuantSettings settings;
    settings.refine = Refinement::Paper;
    const ModuleResult result = quantizeModule(moduleOf("m", f), f, settings);
    const Eigen::MatrixXd dense = f.B.cast<double>() * f.A.cast<double>();
    const Eigen::MatrixXf bhat = result.dequantizedB(), ahat = result.dequantizedA();
    const Eigen::MatrixXd diff = dense - bhat.cast<double>() * ahat.cast<double>();
    QVERIFY(std::abs(result.errSq - diff.squaredNorm()) <= kTraceTolerance * dense.squaredNorm());
    QVERIFY(std::abs(result.relErr - diff.norm() / dense.norm()) <= kRelativeErrorTolerance);
    // B_hat is the dequantized parts in component order: high columns first, then low ones.
    const std::vector<float> high = result.bHigh.dequantizeAll();
    for (int i = 0; i < 150; ++i)
        QCOMPARE(bhat(i, 0), high[std::size_t(i)]);
    QCOMPARE(ahat(result.h, 3), result.aLow.dequantize(0, 3));
}

void ModuleTest::refinementGradient_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("groupSize");
    QTest::addColumn<bool>("tie");
    QTest::newRow("2 bits, g 16") << 2 << 16 << false;
    QTest::newRow("3 bits, g 7 (tails)") << 3 << 7 << false;
    QTest::newRow("2 bits, tied maximum") << 2 << 16 << true;
}

// The analytic gradient (rank-1 identity, only through each group's extremes, ties split
// evenly) against finite differences of the dense loss with codes and zero points frozen.
void ModuleTest::refinementGradient()
{
    QFETCH(int, bits);
    QFETCH(int, groupSize);
    QFETCH(bool, tie);
    std::mt19937 engine(17);
    const int m = 40, n = 30;
    std::vector<float> b(m), a(n);
    for (float& v : b)
        v = float(double(engine()) / 4294967296.0 - 0.5);
    for (float& v : a)
        v = float(double(engine()) / 4294967296.0 - 0.5);
    // the current point: the target moved a little, as after some SGD steps
    std::vector<float> bCur = b, aCur = a;
    for (float& v : bCur)
        v += 0.01f * float(double(engine()) / 4294967296.0 - 0.5);
    if (tie) {
        // two values share group 0's maximum
        const auto hi = std::max_element(bCur.begin(), bCur.begin() + groupSize);
        const std::size_t other = hi == bCur.begin() ? 1 : 0;
        bCur[other] = *hi;
    }
    const PaperRefineSpec spec{bits, groupSize, ScaleFormat::F32, 300, 0.01};
    const PaperGradient g = paperLossGradient(b, a, bCur, aCur, spec);

    const FrozenQuantization qb = freeze(bCur, bits, groupSize);
    const FrozenQuantization qa = freeze(aCur, bits, groupSize);
    {
        double bb = 0, aa = 0;
        for (float v : b)
            bb += double(v) * v;
        for (float v : a)
            aa += double(v) * v;
        const double dense = frozenLoss(b, a, qb, qa);
        QVERIFY2(std::abs(g.loss * g.loss - dense * dense) <= kLossTolerance * bb * aa,
                 qPrintable(QString("loss %1, dense %2, |b|^2|a|^2 %3")
                                .arg(g.loss, 0, 'g', 12)
                                .arg(dense, 0, 'g', 12)
                                .arg(bb * aa)));
    }

    const double maxCode = (1 << bits) - 1;
    const auto check = [&](const std::vector<float>& values, const std::vector<double>& gradient,
                           bool sideB) {
        const FrozenQuantization& q = sideB ? qb : qa;
        // dL/dmax = dL/dd / (2^b - 1) per group, by central differences in d
        std::vector<double> expected;
        for (std::size_t group = 0; group < q.scales.size(); ++group) {
            const double h = 1e-6 * q.scales[group];
            FrozenQuantization plus = q, minus = q;
            plus.scales[group] += h;
            minus.scales[group] -= h;
            const double dScale =
                ((sideB ? frozenLoss(b, a, plus, qa) : frozenLoss(b, a, qb, plus)) -
                 (sideB ? frozenLoss(b, a, minus, qa) : frozenLoss(b, a, qb, minus))) /
                (2 * h);
            expected.push_back(dScale / maxCode);
        }
        double largest = 0;
        for (double d : expected)
            largest = std::max(largest, std::abs(d));
        const double tolerance = kGradientTolerance * largest;
        for (std::size_t group = 0; group < q.scales.size(); ++group) {
            const double dMax = expected[group];
            // the analytic gradient sums to +dMax over the group's maxima, -dMax over its minima
            const auto begin = group * std::size_t(groupSize);
            const auto end = std::min(begin + std::size_t(groupSize), values.size());
            const float hi =
                *std::max_element(values.begin() + long(begin), values.begin() + long(end));
            const float lo =
                *std::min_element(values.begin() + long(begin), values.begin() + long(end));
            double atMax = 0, atMin = 0;
            int maxima = 0;
            for (std::size_t j = begin; j < end; ++j) {
                if (values[j] == hi) {
                    atMax += gradient[j];
                    ++maxima;
                } else if (values[j] == lo) {
                    atMin += gradient[j];
                } else {
                    QCOMPARE(gradient[j], 0.0); // codes carry no gradient
                }
            }
            QVERIFY2(std::abs(atMax - dMax) <= tolerance,
                     qPrintable(QString("group %1: %2 vs %3").arg(group).arg(atMax).arg(dMax)));
            QVERIFY(std::abs(atMin + dMax) <= tolerance);
            if (maxima > 1) // split evenly among tied maxima
                for (std::size_t j = begin; j < end; ++j)
                    if (values[j] == hi)
                        QVERIFY(std::abs(gradient[j] - atMax / maxima) <= kTieSplitTolerance);
        }
    };
    check(bCur, g.gradB, true);
    check(aCur, g.gradA, false);
}

void ModuleTest::refinementBehaviour()
{
    std::mt19937 engine(23);
    const ModuleFactors f{uniform(256, 8, engine, 0.05f), uniform(8, 384, engine, 0.02f)};
    const LoraModule module = moduleOf("m", f);
    const ModuleReparam reparam = reparameterize(f.B, f.A);
    QuantSettings none;
    QuantSettings paper;
    paper.refine = Refinement::Paper;
    QuantSettings zeroSteps = paper;
    zeroSteps.refineSteps = 0;
    const ModuleResult plain = quantizeModule(module, f, reparam, 2, 2, none);
    const ModuleResult refined = quantizeModule(module, f, reparam, 2, 2, paper);
    const ModuleResult untouched = quantizeModule(module, f, reparam, 2, 2, zeroSteps);
    // zero steps is no refinement at all
    QVERIFY(untouched.dequantizedB() == plain.dequantizedB() &&
            untouched.dequantizedA() == plain.dequantizedA());
    // the refinement moves only the high part; the 1-bit part is never refined
    QVERIFY(refined.bLow.codes == plain.bLow.codes && refined.bLow.scales == plain.bLow.scales);
    QVERIFY(refined.aLow.codes == plain.aLow.codes && refined.aLow.scales == plain.aLow.scales);
    QVERIFY(refined.bHigh.scales != plain.bHigh.scales);
    // on a 2-bit high part it lowers the error (what the paper reports it for)
    QVERIFY2(refined.relErr < plain.relErr,
             qPrintable(QString("%1 vs %2").arg(refined.relErr).arg(plain.relErr)));
    QCOMPARE(refined.bitsTrue, plain.bitsTrue);
}

// Whole-adapter baselines group the ORIGINAL B row-major: a group runs along a row and on into
// the next one. B = [1 2 3; 4 5 6], g 4, 2-bit RTN: groups {1 2 3 4} and {5 6}.
//   {1 2 3 4}: d = 3/3 = 1, z = clamp(-1) = 0, codes 1 2 3 3 (4 clamped) -> 1 2 3 3
//   {5 6}: d = 1/3, z = clamp(-15) = 0, codes clamp(15), clamp(18) = 3 3 -> 1 1
// (positive-only groups lose their top: the reference's RTN quantizes offsets from zero).
void ModuleTest::baselineRowMajorGroups()
{
    ModuleFactors f;
    f.B = (Eigen::MatrixXf(2, 3) << 1, 2, 3, 4, 5, 6).finished();
    f.A = (Eigen::MatrixXf(3, 2) << -1, 1, -2, 2, 0, 0.5f).finished();
    BaselineSettings settings;
    settings.method = BaselineMethod::Rtn;
    settings.bits = 2;
    settings.groupSize = 4;
    settings.scaleFormat = ScaleFormat::F32;
    const ModuleResult result = quantizeModuleBaseline(moduleOf("m", f), f, settings);
    const Eigen::MatrixXf expectedB = (Eigen::MatrixXf(2, 3) << 1, 2, 3, 3, 1, 1).finished();
    QVERIFY2(result.dequantizedB().isApprox(expectedB, kHandValueTolerance),
             "B is grouped row-major");
    QCOMPARE(result.baselineB.groupCount(), 2);
    QCOMPARE(result.h, 0);
    QCOMPARE(result.bitsPaper, 2.0 * 3 * (2 + 2));
    // A = [-1 1; -2 2; 0 0.5] row-major: {-1 1 -2 2} {0 0.5}
    //   {-1 1 -2 2}: d = 4/3, z = -round(-1.5) = 2 -> codes 1 3 0 3 (round(1.5) = 2, + 2 = 4
    //   clamped) -> -4/3 4/3 -8/3 4/3; {0 0.5}: d = 1/6, z 0 -> 0, 3 -> 0 0.5
    const float d = 4.0f / 3.0f;
    const Eigen::MatrixXf expectedA =
        (Eigen::MatrixXf(3, 2) << -d, d, -2 * d, d, 0, 0.5f).finished();
    QVERIFY2(result.dequantizedA().isApprox(expectedA, kHandValueTolerance),
             "A is grouped row-major");

    settings.method = BaselineMethod::Binary;
    const ModuleResult binary = quantizeModuleBaseline(moduleOf("m", f), f, settings);
    // {1 2 3 4} -> 2.5 each; {5 6} -> 5.5 each
    const Eigen::MatrixXf binaryB =
        (Eigen::MatrixXf(2, 3) << 2.5f, 2.5f, 2.5f, 2.5f, 5.5f, 5.5f).finished();
    QVERIFY(binary.dequantizedB().isApprox(binaryB, kHandValueTolerance));
    QCOMPARE(binary.bitsPaper, 1.0 * 3 * (2 + 2));
}

// A freshly initialised LoRA (B = 0): nothing to quantize, no NaN anywhere, error 0.
void ModuleTest::zeroModule()
{
    std::mt19937 engine(1);
    const ModuleFactors f{Eigen::MatrixXf::Zero(64, 4), uniform(4, 48, engine, 0.1f)};
    for (Refinement refine : {Refinement::None, Refinement::Paper}) {
        QuantSettings settings;
        settings.refine = refine;
        const ModuleResult result = quantizeModule(moduleOf("fresh", f), f, settings);
        QVERIFY(result.dequantizedB().allFinite() && result.dequantizedA().allFinite());
        QCOMPARE(result.normSq, 0.0);
        QCOMPARE(result.errSq, 0.0);
        QCOMPARE(result.relErr, 0.0);
        QCOMPARE(result.h, 1);
    }
}

// Modules are independent and quantized in parallel: the result must not depend on how many
// threads there are (bit for bit, including the paper refinement).
void ModuleTest::threadCountIndependence()
{
    const Adapter adapter = testAdapter(10);
    for (Refinement refine : {Refinement::None, Refinement::Paper}) {
        QuantSettings settings;
        settings.refine = refine;
        settings.rho = 0.9;
        const int before = omp_get_max_threads();
        omp_set_num_threads(1);
        const QuantResult one = quantizeAdapter(adapter, settings);
        omp_set_num_threads(2);
        const QuantResult two = quantizeAdapter(adapter, settings);
        omp_set_num_threads(before);
        expectSameResult(one, two);
    }
}

// Progress comes once per module, never two calls at once; returning false cancels.
void ModuleTest::progressAndCancel()
{
    const Adapter adapter = testAdapter(12);
    std::atomic<int> inside = 0;
    bool overlapped = false;
    std::vector<int> seen;
    const QuantResult result = quantizeAdapter(adapter, {}, [&](int done, int total) {
        overlapped = overlapped || inside.fetch_add(1) != 0;
        seen.push_back(done);
        if (total != 12)
            overlapped = true;
        inside.fetch_sub(1);
        return true;
    });
    QVERIFY(!overlapped);
    QCOMPARE(int(seen.size()), 12);
    for (int i = 0; i < 12; ++i)
        QCOMPARE(seen[std::size_t(i)], i + 1);
    QCOMPARE(int(result.modules.size()), 12);
    QVERIFY(!result.cancelled);

    int calls = 0;
    const QuantResult cancelled = quantizeAdapter(adapter, {}, [&](int done, int) {
        ++calls;
        return done < 3;
    });
    QVERIFY(cancelled.cancelled);
    QVERIFY(cancelled.modules.empty());
    QCOMPARE(calls, 3);
    const QuantResult baseline = quantizeBaseline(adapter, {}, [](int, int) { return false; });
    QVERIFY(baseline.cancelled && baseline.modules.empty());
}

void ModuleTest::errors()
{
    const Adapter adapter = testAdapter(2);
    QuantSettings bad;
    bad.bitsHigh = 9;
    QVERIFY_THROWS_EXCEPTION(Error, quantizeAdapter(adapter, bad));
    bad = {};
    bad.rho = 0;
    QVERIFY_THROWS_EXCEPTION(Error, quantizeAdapter(adapter, bad));
    bad = {};
    bad.groupSize = 0;
    QVERIFY_THROWS_EXCEPTION(Error, quantizeAdapter(adapter, bad));
    // factors that do not match the module they claim to be
    std::mt19937 engine(2);
    const ModuleFactors f{uniform(10, 2, engine, 1), uniform(2, 8, engine, 1)};
    LoraModule wrong = moduleOf("m", f);
    wrong.n = 9;
    QVERIFY_THROWS_EXCEPTION(Error, quantizeModule(wrong, f, reparameterize(f.B, f.A), 1, 2, {}));
    // an override for a module the adapter does not have is reported, not silently dropped
    QuantSettings overrides;
    overrides.hOverride["no.such.module"] = 2;
    const QuantResult result = quantizeAdapter(adapter, overrides);
    QCOMPARE(int(result.warnings.size()), 1);
}

QTEST_APPLESS_MAIN(ModuleTest)
#include "moduletest.moc"
