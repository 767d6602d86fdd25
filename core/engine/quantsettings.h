#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lq {

// How h (the number of high-precision components) is chosen per module.
enum class SplitRule
{
    Ratio,      // the reference's rule: smallest 0-based k with e_k >= rho, at least 1 (METHOD 2)
    RatioCount, // the smallest number of components whose energy reaches rho
    Fixed,      // the same h for every module (clamped to r)
};

enum class Refinement
{
    None,
    Paper, // the reference's per-component SGD on group ranges (METHOD 4)
    Best,  // this project's refinement (see refinement.h)
};

// Which components make up the high- and low-precision sub-adapters (METHOD 2, and the paper's
// ablations of the split). In every order h comes from the SVD spectrum by the split rule, so an
// order changes which components are kept in b_h bits, never the bit count.
enum class ComponentOrder
{
    Svd,    // the SVD reparameterization B' = U S^(1/2), A' = S^(1/2) V^T (the method)
    Random, // the original components (column i of B, row i of A) in a seeded random order
    Norm,   // the original components ranked by ||b_i a_i^T||_F = ||b_i|| ||a_i||, largest first
};

// Where quantization groups run (METHOD 3).
enum class GroupLayout
{
    PerComponent, // groups stay inside one component's vector; a short tail is its own group
    Flattened,    // the reference: components laid end to end, groups run across them
};

// Storage type of the per-group scales; counted in the true bit figure.
enum class ScaleFormat
{
    F16,
    F32
};

inline constexpr int kScaleBitsF16 = 16;
inline constexpr int kScaleBitsF32 = 32;

constexpr int scaleBits(ScaleFormat format)
{
    return format == ScaleFormat::F16 ? kScaleBitsF16 : kScaleBitsF32;
}

struct QuantSettings
{
    double rho = 0.8;
    SplitRule split = SplitRule::Ratio;
    int fixedH = 1;   // for SplitRule::Fixed
    int bitsHigh = 2; // RTN bits of the high part, 1..8
    int groupSize = 128;
    Refinement refine = Refinement::None;
    ComponentOrder order = ComponentOrder::Svd;
    std::uint64_t orderSeed = 1; // ComponentOrder::Random (mixed with each module's name)
    GroupLayout layout = GroupLayout::PerComponent;
    ScaleFormat scaleFormat = ScaleFormat::F16;
    int refineSteps = 300; // paper refinement
    double refineLearningRate = 0.01;

    // Per-module overrides by module name (the workbench's dragged splits, a budget allocation).
    std::map<std::string, int> hOverride;
    std::map<std::string, int> bitsHighOverride;
    // Per-module refinement (the workbench's choice for a selection); `refine` for the others.
    std::map<std::string, Refinement> refineOverride;

    // Paper-exact: reproduces the public reference (float32 scales, flattened groups).
    static QuantSettings paperExact(double rho, int bitsHigh, bool refine);

    // Throws lq::Error("quantization settings", what is wrong) for values the engine cannot use:
    // rho outside (0, 1], bit widths outside 1..8, group size < 1, fixed h < 0, negative steps or
    // learning rate, overrides out of range.
    void validate() const;
};

// Names as the CLI, the reports and the workbench spell them: "ratio", "ratio-count", "fixed";
// "none", "paper", "best"; "per-component", "flattened"; "f16", "f32".
std::string toString(SplitRule rule);
std::string toString(Refinement refinement);
std::string toString(ComponentOrder order); // "svd", "random", "norm"
std::string toString(GroupLayout layout);
std::string toString(ScaleFormat format);
std::optional<SplitRule> splitRuleFromString(std::string_view name);
std::optional<Refinement> refinementFromString(std::string_view name);
std::optional<ComponentOrder> componentOrderFromString(std::string_view name);
std::optional<GroupLayout> groupLayoutFromString(std::string_view name);
std::optional<ScaleFormat> scaleFormatFromString(std::string_view name);

} // namespace lq
