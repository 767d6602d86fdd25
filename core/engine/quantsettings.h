#pragma once

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

struct QuantSettings
{
    double rho = 0.8;
    SplitRule split = SplitRule::Ratio;
    int fixedH = 1;   // for SplitRule::Fixed
    int bitsHigh = 2; // RTN bits of the high part, 1..8
    int groupSize = 128;
    Refinement refine = Refinement::None;
    GroupLayout layout = GroupLayout::PerComponent;
    ScaleFormat scaleFormat = ScaleFormat::F16;
    int refineSteps = 300; // paper refinement
    double refineLearningRate = 0.01;

    // Per-module overrides by module name (the workbench's dragged splits, a budget allocation).
    std::map<std::string, int> hOverride;
    std::map<std::string, int> bitsHighOverride;

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
std::string toString(GroupLayout layout);
std::string toString(ScaleFormat format);
std::optional<SplitRule> splitRuleFromString(std::string_view name);
std::optional<Refinement> refinementFromString(std::string_view name);
std::optional<GroupLayout> groupLayoutFromString(std::string_view name);
std::optional<ScaleFormat> scaleFormatFromString(std::string_view name);

} // namespace lq
