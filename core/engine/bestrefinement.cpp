#include "core/engine/bestrefinement.h"

#include "core/engine/quantizer.h"

#include <Eigen/SVD>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <limits>

namespace lq {
namespace {

using Eigen::Index;
using Scheme = QuantizedVectors::Scheme;

float storeRtnScale(float d, ScaleFormat format)
{
    const float s = storedScale(d, format);
    return s > 0.0f ? s : kSmallestRtnScale;
}

inline int nearestCode(float w, float inverse, int z, int maxCode)
{
    const int q = int(roundHalfEven(std::clamp(w * inverse, -512.0f, 512.0f))) + z;
    return std::clamp(q, 0, maxCode);
}

// ---- One RTN group, plain squared error ------------------------------------------------------

struct RtnChoice
{
    float d = kSmallestRtnScale;
    int z = 0;
};

// sum (w - (q - z) d)^2 with the nearest codes for (d, z).
double rtnError(const float* w, int k, float d, int z, int maxCode)
{
    const float inverse = 1.0f / d;
    double err = 0;
    for (int j = 0; j < k; ++j) {
        const float e = w[j] - float(nearestCode(w[j], inverse, z, maxCode) - z) * d;
        err += double(e) * e;
    }
    return err;
}

struct CodeSums
{
    double k = 0, sq = 0, sqq = 0, swq = 0, sw = 0, sww = 0;
};

CodeSums codeSums(const float* w, int k, float d, int z, int maxCode, double sw, double sww)
{
    CodeSums s;
    s.k = k;
    s.sw = sw;
    s.sww = sww;
    const float inverse = 1.0f / d;
    float sq = 0, sqq = 0, swq = 0; // k <= a few hundred codes of <= 255: exact enough in float
    for (int j = 0; j < k; ++j) {
        const float q = float(nearestCode(w[j], inverse, z, maxCode));
        sq += q;
        sqq += q * q;
        swq += q * w[j];
    }
    s.sq = sq;
    s.sqq = sqq;
    s.swq = swq;
    return s;
}

// For fixed codes q: the least-squares d for each zero point z in [z0 - 1, z0 + 1],
// d = <w, q - z> / ||q - z||^2, leaving ||w||^2 - <w, q - z>^2 / ||q - z||^2. Only d > 0: a
// negative d gives the same grids as a positive one with mirrored codes.
void bestZeroFor(const CodeSums& s, int z0, int maxCode, double& bestErr, RtnChoice& best)
{
    for (int z = std::max(0, z0 - 1); z <= std::min(maxCode, z0 + 1); ++z) {
        const double a = s.swq - z * s.sw;
        const double b = s.sqq - 2.0 * z * s.sq + double(z) * z * s.k;
        if (!(b > 0) || !(a > 0))
            continue;
        const double err = s.sww - a * a / b;
        if (err < bestErr) {
            bestErr = err;
            best = {float(a / b), z};
        }
    }
}

// The (d, z) of one RTN group that minimises its squared error, d as stored. Search: ranges
// clipped to (1 - 0.05 k)(max - min); for each, the zero points that align the grid with the
// minimum, the maximum and the middle; nearest codes on that grid; least squares (d, z) for
// those codes. Then Lloyd polishing with the stored (rounded) scale while the error falls.
RtnChoice fitRtnGroup(const float* w, int k, int bits, ScaleFormat format, int clipSteps)
{
    const int maxCode = (1 << bits) - 1;
    float lo = w[0], hi = w[0];
    double sw = 0, sww = 0;
    for (int j = 0; j < k; ++j) {
        lo = std::min(lo, w[j]);
        hi = std::max(hi, w[j]);
        sw += w[j];
        sww += double(w[j]) * w[j];
    }
    if (!(hi > lo)) {
        // All values equal v: v = (1 - 0) |v| or (0 - 1) |v|, up to the scale's rounding.
        if (lo == 0.0f)
            return {kSmallestRtnScale, 0};
        return {storeRtnScale(std::fabs(lo), format), lo > 0 ? 0 : 1};
    }

    double bestErr = std::numeric_limits<double>::infinity();
    RtnChoice best{(hi - lo) / float(maxCode), 0};
    for (int step = 0; step < std::max(1, clipSteps); ++step) {
        const float d0 = (hi - lo) * (1.0f - 0.05f * float(step)) / float(maxCode);
        if (!(d0 > 0))
            break;
        const float inverse = 1.0f / d0;
        int zs[3] = {int(std::lround(-lo * inverse)), maxCode - int(std::lround(hi * inverse)),
                     int(std::lround((float(maxCode) - (hi + lo) * inverse) / 2))};
        for (int& z : zs)
            z = std::clamp(z, 0, maxCode);
        for (int i = 0; i < 3; ++i) {
            if ((i >= 1 && zs[i] == zs[0]) || (i == 2 && zs[2] == zs[1]))
                continue;
            bestZeroFor(codeSums(w, k, d0, zs[i], maxCode, sw, sww), zs[i], maxCode, bestErr, best);
        }
    }

    RtnChoice current{storeRtnScale(best.d, format), best.z};
    double currentErr = rtnError(w, k, current.d, current.z, maxCode);
    for (int iteration = 0; iteration < 3; ++iteration) {
        double err = std::numeric_limits<double>::infinity();
        RtnChoice next = current;
        bestZeroFor(codeSums(w, k, current.d, current.z, maxCode, sw, sww), current.z, maxCode, err,
                    next);
        next.d = storeRtnScale(next.d, format);
        const double nextErr = rtnError(w, k, next.d, next.z, maxCode);
        if (!(nextErr < currentErr))
            break;
        current = next;
        currentErr = nextErr;
    }
    return current;
}

// One vector quantized with groups restarting at the vector: the greedy start needs quantized
// columns, not their storage (a flattened group may span two columns; the factor steps that
// follow produce the stored parts).
Eigen::VectorXf quantizeVector(const Eigen::VectorXf& x, bool binary, int bits,
                               const GroupSpec& spec, int clipSteps)
{
    Eigen::VectorXf out(x.size());
    const int maxCode = (1 << bits) - 1;
    for (Index begin = 0; begin < x.size(); begin += spec.groupSize) {
        const int k = int(std::min<Index>(spec.groupSize, x.size() - begin));
        const float* w = x.data() + begin;
        if (binary) {
            double sum = 0;
            for (int j = 0; j < k; ++j)
                sum += std::fabs(double(w[j]));
            const float d = storedScale(float(sum / k), spec.scaleFormat);
            for (int j = 0; j < k; ++j)
                out[begin + j] = w[j] >= 0 ? d : -d;
        } else {
            const RtnChoice c = fitRtnGroup(w, k, bits, spec.scaleFormat, clipSteps);
            for (int j = 0; j < k; ++j)
                out[begin + j] = float(nearestCode(w[j], 1.0f / c.d, c.z, maxCode) - c.z) * c.d;
        }
    }
    return out;
}

// ---- Grams --------------------------------------------------------------------------------

// P^T Q in float (Eigen's blocked product), returned in double for the r x r algebra. Used
// where no large terms cancel: G, the objective's D^T D, the greedy start.
Eigen::MatrixXd gramF(const Eigen::MatrixXf& P, const Eigen::MatrixXf& Q)
{
    return (P.transpose() * Q).cast<double>();
}

// P^T Q accumulated in double over chunks of rows: for the module error, where
// ||M||^2 - 2 <M, M_hat> + ||M_hat||^2 cancels.
Eigen::MatrixXd gramD(const Eigen::MatrixXf& P, const Eigen::MatrixXf& Q)
{
    constexpr Index kChunk = 512;
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(P.cols(), Q.cols());
    for (Index begin = 0; begin < P.rows(); begin += kChunk) {
        const Index count = std::min(kChunk, P.rows() - begin);
        g.noalias() += P.middleRows(begin, count).cast<double>().transpose() *
                       Q.middleRows(begin, count).cast<double>();
    }
    return g;
}

double dot(const Eigen::MatrixXd& P, const Eigen::MatrixXd& Q)
{
    return P.cwiseProduct(Q).sum();
}

// Cholesky A = L L^T of a small (r x r) symmetric positive definite matrix, by plain loops:
// g++ 12 reports false -Wmaybe-uninitialized inside Eigen's LLT kernels at -O2. False when A
// is not numerically positive definite.
bool choleskyLower(const Eigen::MatrixXd& A, Eigen::MatrixXd& L)
{
    const Index n = A.rows();
    L = Eigen::MatrixXd::Zero(n, n);
    for (Index j = 0; j < n; ++j) {
        double diagonal = A(j, j);
        for (Index k = 0; k < j; ++k)
            diagonal -= L(j, k) * L(j, k);
        if (!(diagonal > 0))
            return false;
        L(j, j) = std::sqrt(diagonal);
        for (Index i = j + 1; i < n; ++i) {
            double sum = A(i, j);
            for (Index k = 0; k < j; ++k)
                sum -= L(i, k) * L(j, k);
            L(i, j) = sum / L(j, j);
        }
    }
    return true;
}

// A^-1 B for A = L L^T, by forward and back substitution.
Eigen::MatrixXd choleskySolve(const Eigen::MatrixXd& L, Eigen::MatrixXd B)
{
    const Index n = L.rows();
    for (Index c = 0; c < B.cols(); ++c) {
        for (Index i = 0; i < n; ++i) {
            double sum = B(i, c);
            for (Index k = 0; k < i; ++k)
                sum -= L(i, k) * B(k, c);
            B(i, c) = sum / L(i, i);
        }
        for (Index i = n - 1; i >= 0; --i) {
            double sum = B(i, c);
            for (Index k = i + 1; k < n; ++k)
                sum -= L(k, i) * B(k, c);
            B(i, c) = sum / L(i, i);
        }
    }
    return B;
}

// ---- One factor: X (rows x r), columns [0, h) RTN, [h, r) binary ------------------------------

struct Factor
{
    QuantizedVectors high, low;
    Eigen::MatrixXf hat; // rows x r, dequantized
};

// Where every entry of a factor lives, fixed for the whole refinement of one module. Rows are
// cut into runs, blocks of consecutive rows in which every column stays in one group (with
// groups inside a column and m a multiple of the group size: one run per group of rows).
class Geometry
{
public:
    Geometry(Index rows, Index r, int h, const QuantizedVectors& high, const QuantizedVectors& low)
        : m_rows(rows), m_h(h), m_highGroups(high.groupCount()),
          m_groups(m_highGroups + low.groupCount())
    {
        const auto groupOf = [&](Index i, Index c) {
            return c < h ? high.groupOf(int(c), int(i))
                         : low.groupOf(int(c - h), int(i)) + m_highGroups;
        };
        std::vector<int> previous(static_cast<std::size_t>(r), -1);
        std::vector<int> current(static_cast<std::size_t>(r));
        for (Index i = 0; i < rows; ++i) {
            for (Index c = 0; c < r; ++c)
                current[std::size_t(c)] = groupOf(i, c);
            if (current != previous) {
                m_runStarts.push_back(i);
                m_runGroups.insert(m_runGroups.end(), current.begin(), current.end());
                previous = current;
            }
        }
        m_runStarts.push_back(rows);
        m_r = r;
        // Block diagonal: no group in two runs and no two columns of a run in one group, so the
        // scale refit splits into one r x r system per run.
        std::vector<char> seen(std::size_t(m_groups), 0);
        for (int g : m_runGroups) {
            m_blockDiagonal = m_blockDiagonal && !seen[std::size_t(g)];
            seen[std::size_t(g)] = 1;
        }
    }

    bool blockDiagonal() const { return m_blockDiagonal; }

    int groups() const { return m_groups; }
    int highGroups() const { return m_highGroups; }
    int h() const { return m_h; }
    std::size_t runs() const { return m_runStarts.size() - 1; }
    Index runBegin(std::size_t run) const { return m_runStarts[run]; }
    Index runEnd(std::size_t run) const { return m_runStarts[run + 1]; }
    // Group of column c in a run among all of the factor's groups, high ones first.
    int group(std::size_t run, Index c) const { return m_runGroups[run * std::size_t(m_r) + c]; }
    int local(int g) const { return g < m_highGroups ? g : g - m_highGroups; }

    QuantizedVectors& part(Factor& f, Index c) const { return c < m_h ? f.high : f.low; }
    const QuantizedVectors& part(const Factor& f, Index c) const
    {
        return c < m_h ? f.high : f.low;
    }
    // Index of entry (i, c) in its part's codes (vector after vector).
    std::size_t flat(Index i, Index c) const
    {
        return std::size_t((c < m_h ? c : c - m_h) * m_rows + i);
    }

    // The coefficients of the group scales, E(i, c) = q - z or +-1 (binary), for one run.
    void coefficients(const Factor& f, std::size_t run, Eigen::MatrixXf& E) const
    {
        const Index i0 = runBegin(run), count = runEnd(run) - i0, r = f.hat.cols();
        E.resize(count, r);
        for (Index c = 0; c < r; ++c) {
            const QuantizedVectors& q = part(f, c);
            const std::uint8_t* codes = q.codes.data() + flat(i0, c);
            if (q.scheme == Scheme::Binary) {
                for (Index i = 0; i < count; ++i)
                    E(i, c) = codes[i] ? 1.0f : -1.0f;
            } else {
                const float z = q.zeros[std::size_t(local(group(run, c)))];
                for (Index i = 0; i < count; ++i)
                    E(i, c) = float(codes[i]) - z;
            }
        }
    }

    void dequantize(Factor& f) const
    {
        Eigen::MatrixXf E;
        for (std::size_t run = 0; run < runs(); ++run) {
            coefficients(f, run, E);
            for (Index c = 0; c < f.hat.cols(); ++c)
                f.hat.col(c).segment(runBegin(run), E.rows()) =
                    E.col(c) * part(f, c).scales[std::size_t(local(group(run, c)))];
        }
    }

private:
    Index m_rows;
    Index m_r = 0;
    int m_h;
    int m_highGroups;
    int m_groups;
    std::vector<Index> m_runStarts;
    std::vector<int> m_runGroups; // runs x r
    bool m_blockDiagonal = true;
};

// The search of move d (FactorStep::rowSearch) for one row; buffers reused across rows.
struct RowSearch
{
    static constexpr int kSearchLevels = 4;
    static constexpr int kSearchNodes = 512;

    Eigen::MatrixXd R;                  // G = R^T R, upper triangular
    Eigen::VectorXd scale, zero, t, x;  // per column: group scale and zero, target, level chosen
    std::vector<int> maxCode, q, bestQ; // maxCode -1: binary
    double best = 0;
    int nodes = 0;

    void resize(Index r)
    {
        scale.resize(r);
        zero.resize(r);
        t.resize(r);
        x.resize(r);
        maxCode.resize(std::size_t(r));
        q.resize(std::size_t(r));
    }

    double value(Index c, int code) const
    {
        if (maxCode[std::size_t(c)] < 0)
            return code ? scale[c] : -scale[c];
        return (double(code) - zero[c]) * scale[c];
    }

    // From the current codes q (values x); true when bestQ is strictly better.
    bool run()
    {
        const double start = (R.triangularView<Eigen::Upper>() * (t - x)).squaredNorm();
        best = start;
        bestQ = q;
        nodes = 0;
        descend(R.rows() - 1, 0.0);
        return best < start * (1 - 1e-12);
    }

    void descend(Index k, double cost)
    {
        if (k < 0) {
            if (cost < best) {
                best = cost;
                bestQ = q;
            }
            return;
        }
        double sk = 0;
        for (Index j = k + 1; j < R.cols(); ++j)
            sk += R(k, j) * (t[j] - x[j]);
        const double centre = t[k] + sk / R(k, k);
        int candidates[kSearchLevels];
        int count = 0;
        const int top = maxCode[std::size_t(k)];
        if (top < 0) {
            candidates[count++] = centre >= 0 ? 1 : 0;
            candidates[count++] = centre >= 0 ? 0 : 1;
        } else {
            const double position = centre / scale[k] + zero[k];
            const int nearest = std::clamp(int(std::lround(position)), 0, top);
            candidates[count++] = nearest;
            const int first = position >= nearest ? 1 : -1;
            for (int step = 1; count < kSearchLevels && step <= top; ++step)
                for (int sign : {first, -first}) {
                    const int code = nearest + sign * step;
                    if (code >= 0 && code <= top && count < kSearchLevels)
                        candidates[count++] = code;
                }
        }
        for (int a = 0; a < count; ++a) {
            if (++nodes > kSearchNodes)
                return;
            const double v = value(k, candidates[a]);
            const double term = R(k, k) * (t[k] - v) + sk;
            const double next = cost + term * term;
            if (!(next < best))
                continue;
            q[std::size_t(k)] = candidates[a];
            const double saved = x[k];
            x[k] = v;
            descend(k - 1, next);
            x[k] = saved;
        }
    }
};

class FactorStep
{
public:
    FactorStep(const Geometry& geometry, int bitsHigh, const GroupSpec& spec,
               const BestRefineOptions& options, double normSq)
        : m_geo(geometry), m_bits(bitsHigh), m_spec(spec), m_options(options), m_normSq(normSq)
    {}

    // X_hat given the other factor's Y and Y_hat (see the header); XtX = X^T X. `factor` may
    // hold the previous X_hat: it is kept when the new one is not better. Returns the module's
    // error ||X Y^T - X_hat Y_hat^T||^2 = ||M - X* Y_hat^T||^2 + objective, where with
    // W = C G^-1, C = Y^T Y_hat: ||M - X W Y_hat^T||^2 = ||M||^2 - <X^T X W, C> (r x r algebra).
    double run(const Eigen::MatrixXf& X, const Eigen::MatrixXd& XtX, const Eigen::MatrixXf& Y,
               const Eigen::MatrixXf& Yhat, Factor& factor) const
    {
        const Index rows = X.rows(), r = X.cols();
        Eigen::MatrixXd G = gramF(Yhat, Yhat);
        // A zero column of Y_hat (a zero component) leaves G singular; its column of X* is 0
        // anyway. So do equal columns (two 1-bit columns with the same signs, as in a module
        // with r > m), and then G, summed in float, can be indefinite by ~1e-7 of its
        // diagonal. Damping by 1e-9 of the largest diagonal changes nothing measurable; where
        // that is not enough it grows a hundredfold at a time, up to 1e-3.
        const double diagonal = std::max(G.diagonal().maxCoeff(), 1e-300);
        Eigen::MatrixXd L;
        bool factored = false;
        for (double damping = 1e-9; damping <= 1e-3 && !factored; damping *= 100) {
            Eigen::MatrixXd damped = G;
            damped.diagonal().array() += damping * diagonal;
            if ((factored = choleskyLower(damped, L)))
                G = std::move(damped);
        }
        if (!factored) // only for a non-finite Y_hat: keep what `factor` holds (maybe nothing)
            return std::numeric_limits<double>::infinity();
        const Eigen::MatrixXd C = gramF(Y, Yhat);
        const Eigen::MatrixXd W = choleskySolve(L, C.transpose()).transpose();
        const Eigen::MatrixXf Tstar = X * W.cast<float>();
        const double floorErr = std::max(0.0, m_normSq - dot(XtX * W, C));

        Eigen::MatrixXd U = Eigen::MatrixXd::Zero(r, r);
        Eigen::MatrixXd Linv;
        if (m_options.errorFeedback &&
            choleskyLower(choleskySolve(L, Eigen::MatrixXd::Identity(r, r)), Linv))
            U = Linv.transpose(); // G^-1 = U^T U, U upper

        const bool havePrevious = factor.hat.rows() == rows && factor.hat.cols() == r;
        const double previous =
            havePrevious ? objective(Tstar, G, factor.hat) : std::numeric_limits<double>::max();
        Factor fresh;
        fresh.high = emptyVectors(Scheme::Rtn, m_bits, m_geo.h(), int(rows), m_spec);
        fresh.low = emptyVectors(Scheme::Binary, 1, int(r) - m_geo.h(), int(rows), m_spec);
        fresh.hat.resize(rows, r);
        columnPass(Tstar, U, fresh);
        double current = objective(Tstar, G, fresh.hat);
        if (m_options.jointScales)
            current = tryRefitScales(Tstar, G, fresh, current);
        if (current < previous)
            factor = std::move(fresh);
        else
            current = previous;

        for (int sweep = 0; sweep < m_options.sweeps; ++sweep) {
            const double before = current;
            columnSweep(Tstar, G, factor);
            if (r <= m_options.rowSearchMaxRank)
                rowSearch(Tstar, G, factor);
            current = objective(Tstar, G, factor.hat);
            if (m_options.jointScales)
                current = tryRefitScales(Tstar, G, factor, current);
            if (!(current < before * (1 - 1e-4)))
                break;
        }
        return floorErr + current;
    }

private:
    // sum_i (x*_i - x_hat_i)^T G (x*_i - x_hat_i)
    static double objective(const Eigen::MatrixXf& Tstar, const Eigen::MatrixXd& G,
                            const Eigen::MatrixXf& hat)
    {
        const Eigen::MatrixXf D = Tstar - hat;
        return dot(gramF(D, D), G);
    }

    // Move a: columns in order, each group fitted when first reached, error feedback through U
    // (the upper Cholesky factor of G^-1; zero means none).
    void columnPass(const Eigen::MatrixXf& Tstar, const Eigen::MatrixXd& U, Factor& factor) const
    {
        Eigen::MatrixXf T = Tstar;
        const Index r = T.cols();
        std::vector<char> fitted(std::size_t(m_geo.groups()), 0);
        for (Index c = 0; c < r; ++c) {
            quantizeColumn(T.col(c).data(), &T, c, &fitted, factor);
            if (U(c, c) > 0 && c + 1 < r) {
                const Eigen::VectorXf err = (T.col(c) - factor.hat.col(c)) / float(U(c, c));
                const Eigen::RowVectorXf u = U.row(c).tail(r - c - 1).cast<float>();
                T.rightCols(r - c - 1).noalias() -= err * u;
            }
        }
    }

    // Quantizes `column` (rows values) as column c of `factor` (codes and hat). With `fitted`
    // (the pass), every group not yet fitted is fitted on its values in `target`, whose column c
    // is `column` (a flattened group running into the next column included). Without (a sweep),
    // the groups lying inside the column are refitted when that lowers their error, and a group
    // shared with another column keeps its parameters. Codes are the nearest for the group's
    // parameters.
    void quantizeColumn(const float* column, const Eigen::MatrixXf* target, Index c,
                        std::vector<char>* fitted, Factor& factor) const
    {
        const Index rows = factor.hat.rows();
        QuantizedVectors& q = m_geo.part(factor, c);
        const int first = c < m_geo.h() ? 0 : m_geo.h();
        const int maxCode = (1 << q.bits) - 1;
        const std::int64_t colBegin = std::int64_t(c - first) * rows;
        std::vector<float> gathered;
        for (Index i0 = 0; i0 < rows;) {
            const int lg = q.groupOf(int(c - first), int(i0));
            const std::int64_t gb = q.groupBegin(lg), ge = q.groupEnd(lg);
            const Index i1 = Index(std::min<std::int64_t>(ge - colBegin, rows));
            const bool inside = gb >= colBegin && ge <= colBegin + rows;
            if (fitted) {
                const std::size_t g = std::size_t(lg + (c < m_geo.h() ? 0 : m_geo.highGroups()));
                if (!(*fitted)[g]) {
                    const float* values = column + (gb - colBegin);
                    if (!inside) {
                        gathered.resize(std::size_t(ge - gb));
                        for (std::int64_t f = gb; f < ge; ++f)
                            gathered[std::size_t(f - gb)] =
                                (*target)(Index(f % rows), first + f / rows);
                        values = gathered.data();
                    }
                    fitGroup(q, lg, values, int(ge - gb), false);
                    (*fitted)[g] = 1;
                }
            } else if (inside) {
                fitGroup(q, lg, column + (gb - colBegin), int(ge - gb), true);
            }
            const float d = q.scales[std::size_t(lg)];
            if (q.scheme == Scheme::Binary) {
                for (Index i = i0; i < i1; ++i) {
                    const bool up = column[i] >= 0.0f;
                    q.codes[m_geo.flat(i, c)] = up ? 1 : 0;
                    factor.hat(i, c) = up ? d : -d;
                }
            } else {
                const int z = q.zeros[std::size_t(lg)];
                const float inverse = 1.0f / d;
                for (Index i = i0; i < i1; ++i) {
                    const int code = nearestCode(column[i], inverse, z, maxCode);
                    q.codes[m_geo.flat(i, c)] = std::uint8_t(code);
                    factor.hat(i, c) = float(code - z) * d;
                }
            }
            i0 = i1;
        }
    }

    // Fits group g to `values` (plain squared error). With `keepBetter`, the group's current
    // parameters stay when the search does not beat them (the search is not exhaustive).
    void fitGroup(QuantizedVectors& q, int g, const float* values, int k, bool keepBetter) const
    {
        if (q.scheme == Scheme::Binary) { // exact: d = mean |w| for the signs of w
            double sum = 0;
            for (int j = 0; j < k; ++j)
                sum += std::fabs(double(values[j]));
            q.scales[std::size_t(g)] = storedScale(float(sum / k), m_spec.scaleFormat);
            return;
        }
        const RtnChoice choice =
            fitRtnGroup(values, k, q.bits, m_spec.scaleFormat, m_options.clipSteps);
        const int maxCode = (1 << q.bits) - 1;
        if (keepBetter && rtnError(values, k, q.scales[std::size_t(g)], q.zeros[std::size_t(g)],
                                   maxCode) <= rtnError(values, k, choice.d, choice.z, maxCode))
            return;
        q.scales[std::size_t(g)] = choice.d;
        q.zeros[std::size_t(g)] = std::uint8_t(choice.z);
    }

    // Move c: block coordinate descent over the columns. With the other columns fixed, the
    // objective depends on column c only through G_cc sum_i (u_i - x_ic)^2 with
    // u = x_hat_c + (G e_i)_c / G_cc (e_i = x*_i - x_hat_i), so refitting column c's groups and
    // codes to u by plain squared error minimises it exactly (up to the group search, whose
    // result is kept only when it beats the group's current parameters).
    void columnSweep(const Eigen::MatrixXf& Tstar, const Eigen::MatrixXd& G, Factor& factor) const
    {
        const Index r = Tstar.cols();
        const Eigen::MatrixXf Gf = G.cast<float>();
        Eigen::MatrixXf GE = (Tstar - factor.hat) * Gf; // rows x r, row i = (G e_i)^T
        Eigen::VectorXf u, old;
        for (Index c = 0; c < r; ++c) {
            if (!(Gf(c, c) > 0))
                continue;
            old = factor.hat.col(c);
            u = old + GE.col(c) / Gf(c, c);
            quantizeColumn(u.data(), nullptr, c, nullptr, factor);
            GE.noalias() -= (factor.hat.col(c) - old) * Gf.row(c);
        }
    }

    // Move d: each row's r codes at once, scales and zero points fixed (rows are then
    // independent): min over levels of (t - x)^T G (t - x), t = x*_i. With G = R^T R (R upper),
    // the cost is sum_k (R_kk (t_k - x_k) + s_k)^2 with s_k = sum_(j>k) R_kj (t_j - x_j), so a
    // depth-first search from the last column down to the first adds one non-negative term per
    // level and prunes at the best cost found so far. That bound starts at the current codes'
    // cost, so a row only changes when strictly better. Candidates per entry: binary both signs,
    // RTN the kSearchLevels codes nearest the conditional centre; at most kSearchNodes nodes per
    // row. A fixed visiting order keeps it deterministic.
    void rowSearch(const Eigen::MatrixXf& Tstar, const Eigen::MatrixXd& G, Factor& factor) const
    {
        const Index r = Tstar.cols();
        Eigen::MatrixXd L;
        if (!choleskyLower(G, L))
            return;
        RowSearch search;
        search.R = L.transpose();
        search.resize(r);
        for (std::size_t run = 0; run < m_geo.runs(); ++run) {
            for (Index c = 0; c < r; ++c) {
                const QuantizedVectors& part = m_geo.part(factor, c);
                const std::size_t lg = std::size_t(m_geo.local(m_geo.group(run, c)));
                const bool binary = part.scheme == Scheme::Binary;
                search.scale[c] = part.scales[lg];
                search.zero[c] = binary ? 0.0 : double(part.zeros[lg]);
                search.maxCode[std::size_t(c)] = binary ? -1 : (1 << part.bits) - 1;
            }
            for (Index i = m_geo.runBegin(run); i < m_geo.runEnd(run); ++i) {
                for (Index c = 0; c < r; ++c) {
                    search.t[c] = Tstar(i, c);
                    search.q[std::size_t(c)] = m_geo.part(factor, c).codes[m_geo.flat(i, c)];
                    search.x[c] = search.value(c, search.q[std::size_t(c)]);
                }
                if (!search.run())
                    continue;
                for (Index c = 0; c < r; ++c) {
                    const int code = search.bestQ[std::size_t(c)];
                    m_geo.part(factor, c).codes[m_geo.flat(i, c)] = std::uint8_t(code);
                    factor.hat(i, c) = float(search.value(c, code));
                }
            }
        }
    }

    // Move b, kept only when it lowers the objective (the scales' rounding to the stored format
    // can undo a tiny gain). Returns the objective of what `factor` holds afterwards.
    double tryRefitScales(const Eigen::MatrixXf& Tstar, const Eigen::MatrixXd& G, Factor& factor,
                          double current) const
    {
        Factor refitted = factor;
        if (!refitScales(Tstar, G, refitted))
            return current;
        const double after = objective(Tstar, G, refitted.hat);
        if (!(after < current))
            return current;
        factor = std::move(refitted);
        return after;
    }

    bool refitScales(const Eigen::MatrixXf& Tstar, const Eigen::MatrixXd& G, Factor& factor) const
    {
        const Index r = Tstar.cols();
        const int groups = m_geo.groups();
        if (groups == 0)
            return false;
        const Eigen::MatrixXf TG = Tstar * G.cast<float>();
        if (m_geo.blockDiagonal())
            return refitScalesBlocks(TG, G, factor);
        Eigen::VectorXd rhs = Eigen::VectorXd::Zero(groups);
        std::vector<Eigen::Triplet<double>> triplets;
        triplets.reserve(m_geo.runs() * std::size_t(r * r));
        Eigen::MatrixXf E;
        for (std::size_t run = 0; run < m_geo.runs(); ++run) {
            const Index i0 = m_geo.runBegin(run);
            m_geo.coefficients(factor, run, E);
            const Eigen::MatrixXd P = gramF(E, E);
            const Eigen::VectorXd R = E.cwiseProduct(TG.middleRows(i0, E.rows()))
                                          .colwise()
                                          .sum()
                                          .transpose()
                                          .cast<double>();
            for (Index c = 0; c < r; ++c) {
                rhs[m_geo.group(run, c)] += R[c];
                for (Index l = 0; l < r; ++l)
                    triplets.emplace_back(m_geo.group(run, c), m_geo.group(run, l),
                                          G(c, l) * P(c, l));
            }
        }
        Eigen::SparseMatrix<double> N(groups, groups);
        N.setFromTriplets(triplets.begin(), triplets.end());
        const double maxDiag = N.diagonal().maxCoeff();
        if (!(maxDiag > 0))
            return false;
        // A group whose coefficients are all 0 has an empty row: the ridge keeps its scale.
        const double ridge = 1e-10 * maxDiag;
        for (int g = 0; g < groups; ++g) {
            N.coeffRef(g, g) += ridge;
            const QuantizedVectors& q = g < m_geo.highGroups() ? factor.high : factor.low;
            rhs[g] += ridge * q.scales[std::size_t(m_geo.local(g))];
        }
        const Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> solver(N);
        if (solver.info() != Eigen::Success)
            return false;
        const Eigen::VectorXd d = solver.solve(rhs);
        if (!d.allFinite())
            return false;
        for (int g = 0; g < groups; ++g)
            setScale(g < m_geo.highGroups() ? factor.high : factor.low, m_geo.local(g), d[g]);
        m_geo.dequantize(factor);
        return true;
    }

    // The refit when every run has its own r groups: (G o E^T E) d = rhs per run.
    bool refitScalesBlocks(const Eigen::MatrixXf& TG, const Eigen::MatrixXd& G,
                           Factor& factor) const
    {
        const Index r = TG.cols();
        std::vector<double> scales(std::size_t(m_geo.groups()));
        Eigen::MatrixXf E;
        Eigen::MatrixXd L;
        for (std::size_t run = 0; run < m_geo.runs(); ++run) {
            const Index i0 = m_geo.runBegin(run);
            m_geo.coefficients(factor, run, E);
            Eigen::MatrixXd N = gramF(E, E).cwiseProduct(G);
            Eigen::MatrixXd rhs = E.cwiseProduct(TG.middleRows(i0, E.rows()))
                                      .colwise()
                                      .sum()
                                      .transpose()
                                      .cast<double>();
            const double ridge = 1e-10 * std::max(N.diagonal().maxCoeff(), 1e-300);
            for (Index c = 0; c < r; ++c) {
                const int g = m_geo.group(run, c);
                const QuantizedVectors& q = g < m_geo.highGroups() ? factor.high : factor.low;
                N(c, c) += ridge;
                rhs(c, 0) += ridge * q.scales[std::size_t(m_geo.local(g))];
            }
            if (!choleskyLower(N, L))
                return false;
            const Eigen::MatrixXd d = choleskySolve(L, rhs);
            for (Index c = 0; c < r; ++c)
                scales[std::size_t(m_geo.group(run, c))] = d(c, 0);
        }
        for (int g = 0; g < m_geo.groups(); ++g) {
            if (!std::isfinite(scales[std::size_t(g)]))
                return false;
        }
        for (int g = 0; g < m_geo.groups(); ++g)
            setScale(g < m_geo.highGroups() ? factor.high : factor.low, m_geo.local(g),
                     scales[std::size_t(g)]);
        m_geo.dequantize(factor);
        return true;
    }

    void setScale(QuantizedVectors& q, int g, double d) const
    {
        if (d < 0) {
            const int maxCode = (1 << q.bits) - 1;
            for (std::int64_t f = q.groupBegin(g); f < q.groupEnd(g); ++f)
                q.codes[std::size_t(f)] = std::uint8_t(maxCode - q.codes[std::size_t(f)]);
            if (q.scheme == Scheme::Rtn)
                q.zeros[std::size_t(g)] = std::uint8_t(maxCode - q.zeros[std::size_t(g)]);
            d = -d;
        }
        q.scales[std::size_t(g)] = q.scheme == Scheme::Rtn
                                       ? storeRtnScale(float(d), m_spec.scaleFormat)
                                       : storedScale(float(d), m_spec.scaleFormat);
    }

    const Geometry& m_geo;
    int m_bits;
    GroupSpec m_spec;
    BestRefineOptions m_options;
    double m_normSq; // ||M||_F^2
};

// ||X Y^T - Xh Yh^T||_F^2 = ||M||^2 - 2 <X^T Xh, Y^T Yh> + <Xh^T Xh, Yh^T Yh> (METHOD 6), in
// double.
double moduleErrorSq(const Eigen::MatrixXf& X, const Eigen::MatrixXf& Y, const Eigen::MatrixXf& Xh,
                     const Eigen::MatrixXf& Yh, double normSq)
{
    return std::max(0.0, normSq - 2 * dot(gramD(X, Xh), gramD(Y, Yh)) +
                             dot(gramD(Xh, Xh), gramD(Yh, Yh)));
}

// Dequantized vectors of `part` as consecutive columns of `target` from `column` on.
void putColumns(Eigen::MatrixXf& target, Index column, const QuantizedVectors& part)
{
    if (part.count == 0)
        return;
    const std::vector<float> values = part.dequantizeAll();
    target.middleCols(column, part.count) =
        Eigen::Map<const Eigen::MatrixXf>(values.data(), part.length, part.count);
}

// The top singular pair of R = P Q^T (P rows_p x k, Q rows_q x k) from the k x k Grams
// Gp = P^T P, Gq = Q^T Q alone: with v = Q b, R^T R v = Q (Gp Gq b), so power iteration runs on
// the coefficients b; then R v = P (Gq b). Returns a, b with x = P a, y = Q b, |x| = |y| and
// x y^T the rank-1 part of R along v. A start only needs a good direction, not the exact top
// pair, so a fixed number of iterations from a fixed start suffices (when s1 ~ s2 any
// direction of their span is as good).
void topPair(const Eigen::MatrixXd& Gp, const Eigen::MatrixXd& Gq, Index start, Eigen::VectorXd& a,
             Eigen::VectorXd& b)
{
    constexpr int kIterations = 40;
    const Index k = Gq.rows();
    b = Eigen::VectorXd::Constant(k, 1e-3);
    b[start] = 1.0;
    for (int iteration = 0; iteration < kIterations; ++iteration) {
        b = Gp * (Gq * b);
        const double scale = b.cwiseAbs().maxCoeff();
        if (!(scale > 0) || !std::isfinite(scale)) {
            a = Eigen::VectorXd::Zero(Gp.rows());
            b = Eigen::VectorXd::Zero(k);
            return;
        }
        b /= scale;
    }
    a = Gq * b;
    const double normX = std::sqrt(std::max(0.0, a.dot(Gp * a)));
    const double normY = std::sqrt(std::max(0.0, b.dot(Gq * b)));
    if (!(normX > 0) || !(normY > 0)) {
        a.setZero();
        b.setZero();
        return;
    }
    const double root = std::sqrt(normX / normY); // sqrt(s1): |R v| = |P Gq b| / |Q b|
    a *= root / normX;
    b *= root / normY;
}

// The greedy start (see the header). Returns Y_hat (n x r). P = [X, -X_hat(:, 0..k)] and
// Q = [Y, Y_hat(:, 0..k)] hold the residual R = P Q^T; their Grams grow by one row and column
// per component.
Eigen::MatrixXf greedyStart(const Eigen::MatrixXf& X, const Eigen::MatrixXf& Y, int h, int bits,
                            const GroupSpec& spec, int clipSteps)
{
    const Index m = X.rows(), n = Y.rows(), r = X.cols();
    Eigen::MatrixXf P(m, 2 * r), Q(n, 2 * r);
    P.leftCols(r) = X;
    Q.leftCols(r) = Y;
    Eigen::MatrixXd Gp = Eigen::MatrixXd::Zero(2 * r, 2 * r), Gq = Gp;
    Gp.topLeftCorner(r, r) = gramF(X, X);
    Gq.topLeftCorner(r, r) = gramF(Y, Y);
    Eigen::VectorXd a, b;
    for (Index k = 0; k < r; ++k) {
        const Index cols = r + k;
        topPair(Gp.topLeftCorner(cols, cols), Gq.topLeftCorner(cols, cols), k, a, b);
        const auto Pk = P.leftCols(cols);
        const auto Qk = Q.leftCols(cols);
        Eigen::VectorXf x = Pk * a.cast<float>(), y = Qk * b.cast<float>();
        const bool binary = k >= h;
        Eigen::VectorXf xh = quantizeVector(x, binary, bits, spec, clipSteps);
        Eigen::VectorXf yh = quantizeVector(y, binary, bits, spec, clipSteps);
        for (int iteration = 0; iteration < 2; ++iteration) {
            const float xx = xh.squaredNorm();
            if (!(xx > 0))
                break;
            y = Qk * (Pk.transpose() * xh) / xx; // R^T x_hat / |x_hat|^2
            yh = quantizeVector(y, binary, bits, spec, clipSteps);
            const float yy = yh.squaredNorm();
            if (!(yy > 0))
                break;
            x = Pk * (Qk.transpose() * yh) / yy;
            xh = quantizeVector(x, binary, bits, spec, clipSteps);
        }
        P.col(cols) = -xh;
        Q.col(cols) = yh;
        const Eigen::VectorXd pc = (P.leftCols(cols + 1).transpose() * P.col(cols)).cast<double>();
        const Eigen::VectorXd qc = (Q.leftCols(cols + 1).transpose() * Q.col(cols)).cast<double>();
        Gp.col(cols).head(cols + 1) = pc;
        Gp.row(cols).head(cols + 1) = pc.transpose();
        Gq.col(cols).head(cols + 1) = qc;
        Gq.row(cols).head(cols + 1) = qc.transpose();
    }
    return Q.rightCols(r);
}

} // namespace

QuantizedParts refineBest(const SplitFactors& split, int bitsHigh, const QuantSettings& settings,
                          const BestRefineOptions& options)
{
    const int h = int(split.bHigh.cols());
    const Index m = split.bHigh.rows(), n = split.aHighT.rows();
    const Index r = h + split.bLow.cols();
    if (r == 0)
        return quantizeSplitPlain(split, bitsHigh, settings);
    Eigen::MatrixXf X(m, r), Y(n, r);
    X << split.bHigh, split.bLow;
    Y << split.aHighT, split.aLowT;

    const Eigen::MatrixXd XtX = gramD(X, X), YtY = gramD(Y, Y);
    const double normSq = dot(XtX, YtY);
    if (!(normSq > 0))
        return quantizeSplitPlain(split, bitsHigh, settings);

    const GroupSpec spec{settings.groupSize, settings.layout, settings.scaleFormat};
    const QuantizedVectors highX = emptyVectors(Scheme::Rtn, bitsHigh, h, int(m), spec);
    const QuantizedVectors lowX = emptyVectors(Scheme::Binary, 1, int(r) - h, int(m), spec);
    const QuantizedVectors highY = emptyVectors(Scheme::Rtn, bitsHigh, h, int(n), spec);
    const QuantizedVectors lowY = emptyVectors(Scheme::Binary, 1, int(r) - h, int(n), spec);
    const Geometry geoX(m, r, h, highX, lowX), geoY(n, r, h, highY, lowY);
    const FactorStep stepX(geoX, bitsHigh, spec, options, normSq);
    const FactorStep stepY(geoY, bitsHigh, spec, options, normSq);

    Factor fx, fy, bestX, bestY;
    double bestErr = std::numeric_limits<double>::infinity();
    const auto keepBest = [&](double err) {
        if (err < bestErr) {
            bestErr = err;
            bestX = fx;
            bestY = fy;
        }
    };
    if (options.greedyStart)
        stepX.run(X, XtX, Y, greedyStart(X, Y, h, bitsHigh, spec, options.clipSteps), fx);
    else
        stepX.run(X, XtX, Y, Y, fx);
    // A step that could not start (no usable Gram) leaves its factor empty: stop there.
    const int rounds = std::max(1, options.rounds);
    const int maxRounds =
        r <= options.extraRoundsMaxRank ? std::max(rounds, options.maxRounds) : rounds;
    double beforePair = std::numeric_limits<double>::infinity();
    for (int round = 0; round < maxRounds && fx.hat.size() > 0; ++round) {
        if (round >= rounds && !(bestErr < beforePair * (1 - options.roundTolerance)))
            break;
        beforePair = bestErr;
        keepBest(stepY.run(Y, YtY, X, fx.hat, fy));
        if (fy.hat.size() == 0)
            break;
        keepBest(stepX.run(X, XtX, Y, fy.hat, fx));
    }

    // Never worse than plain quantization (Refinement::None): the moves above only ever lower
    // their own objective, but from the greedy start, not from the plain codes. Both errors by
    // the same double Gram formula, so the comparison is like for like.
    QuantizedParts plain = quantizeSplitPlain(split, bitsHigh, settings);
    Eigen::MatrixXf plainX(m, r), plainY(n, r);
    putColumns(plainX, 0, plain.bHigh);
    putColumns(plainX, h, plain.bLow);
    putColumns(plainY, 0, plain.aHigh);
    putColumns(plainY, h, plain.aLow);
    if (bestX.hat.size() == 0 || !(moduleErrorSq(X, Y, bestX.hat, bestY.hat, normSq) <
                                   moduleErrorSq(X, Y, plainX, plainY, normSq)))
        return plain;
    return {std::move(bestX.high), std::move(bestY.high), std::move(bestX.low),
            std::move(bestY.low)};
}

} // namespace lq
