#pragma once

#include "core/engine/refinement.h"

namespace lq {

// `--refine best`: this project's refinement (issue 6). It keeps the storage of every other mode
// (same code, scale and zero-point counts per part, so the same paper and true bit counts) and
// chooses the stored values to minimise the module's own error ||B'A' - B_hat A_hat||_F rather
// than a per-component loss.
//
// Write X = B' (m x r) and Y = A'^T (n x r), column c = component c, M = X Y^T. Columns < h are
// RTN with bitsHigh bits, the others binary; groups as the settings say (size, layout, scale
// format), so a group lies in one column or, flattened, in consecutive columns of one part.
//
// Factor step (X given a quantized Y_hat; the Y step swaps the roles). With G = Y_hat^T Y_hat
// (r x r) and the unconstrained least-squares X* = M Y_hat G^-1 = X (Y^T Y_hat) G^-1,
//     ||M - X_hat Y_hat^T||^2 = ||M - X* Y_hat^T||^2 + tr((X* - X_hat) G (X* - X_hat)^T),
// so the rows of X_hat are independent and the r entries of a row are coupled by G: the problem
// GPTQ solves for one layer with Hessian G. Four moves, each never increasing the objective
// (a move that would is dropped):
//   a. column pass with error feedback: columns in order, each group given the (scale, zero)
//      that minimises its own squared error (clipped ranges searched, then least squares for
//      fixed codes, d = <w, q - z> / ||q - z||^2 for integer z near the best; binary: d = mean |w|,
//      exact for the signs of w), nearest codes; the column's rounding error divided by the
//      Cholesky factor of G^-1 is subtracted from the columns not yet quantized;
//   b. all scales of the factor at once by least squares, codes and zero points fixed: normal
//      matrix (G o E^T E) per block of rows sharing groups (E = q - z or +-1), one sparse solve;
//   c. code sweeps (coordinate descent): entry c of row i moves to the level nearest
//      x_ic + (G e_i)_c / G_cc, e_i = x*_i - x_hat_i, the exact minimiser along that coordinate;
//   d. row search (r <= rowSearchMaxRank): all r codes of a row at once, scales fixed, by a
//      pruned depth-first search on the Cholesky factor of G (a closest-vector search started
//      at the current codes, 4 nearest levels per entry, at most 512 nodes per row).
// Cost O(rows r^2) per move plus the group searches; nothing m x n is ever formed.
//
// Start (greedy residual): column k of the first Y_hat is a quantized rank-1 fit of the residual
// M - sum_{j<k} x_hat_j y_hat_j^T, from its top singular pair (r x r Gram algebra). After a coarse
// high part the residual's largest direction is often the high part's own rounding error, not
// the next singular component, and spare 1-bit columns go there. Then X, Y, X, ... steps
// (`rounds` pairs, more at small ranks: see the options); the exact module error (Grams,
// METHOD 6) picks the best pair seen, and the plain quantization of the split
// (Refinement::None) is returned instead when it is not worse, so `best` never loses to `none`
// on any module.
//
// Scales are rounded to the scale format before codes are chosen and before any error is
// measured, so what is returned is exactly what a packed file stores. A negative least-squares
// scale is stored as its magnitude with the group's codes mirrored (q -> 2^b - 1 - q and
// z -> 2^b - 1 - z; binary q -> 1 - q), which reconstructs the same values.
// Deterministic (no randomness, fixed loop orders, single-threaded inside one module).
// Zero modules, zero components and rank-deficient factors give no NaN: G is damped, and a
// zero update is quantized plainly.
struct BestRefineOptions
{
    int rounds = 2;          // pairs of (Y step, X step) after the first X step
    int sweeps = 2;          // at most this many column sweeps + scale refits per step
    bool greedyStart = true; // false: start from the SVD split itself (Y_hat = Y)
    bool errorFeedback = true;
    bool jointScales = true;
    int clipSteps = 10; // clipped ranges tried per RTN group: (1 - 0.05 k)(max - min)
    // Move d runs for ranks up to this: its cost grows quickly with r (on the synthetic 7B
    // adapter at r = 16 it took ten times as long for 6% less error), while at small ranks,
    // where the column moves leave most on the table, it is cheap.
    int rowSearchMaxRank = 8;
    // Modules of rank up to extraRoundsMaxRank go on past `rounds` while the last pair lowered
    // the module error by at least roundTolerance of it, up to maxRounds pairs. At small ranks
    // a pair is cheap and the alternation keeps finding a little for many pairs (qwen2.5-3b r4,
    // b_h 2: 0.4117 after 2 pairs, 0.4081 when it stops; gptneo r8: 0.2953 -> 0.2797), while
    // at r = 16 a pair costs about a second on the whole synthetic 7B adapter for under 1%.
    int maxRounds = 16;
    int extraRoundsMaxRank = 8;
    double roundTolerance = 1e-4;
};

// The refinement of one module's split; parts laid out as quantizeSplitPlain lays them out.
// A zero update (or r = 0) is quantized plainly.
QuantizedParts refineBest(const SplitFactors& split, int bitsHigh, const QuantSettings& settings,
                          const BestRefineOptions& options = {});

} // namespace lq
