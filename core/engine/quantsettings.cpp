#include "core/engine/quantsettings.h"

#include "core/io/error.h"

namespace lq {

QuantSettings QuantSettings::paperExact(double rho, int bitsHigh, bool refine)
{
    QuantSettings settings;
    settings.rho = rho;
    settings.split = SplitRule::Ratio;
    settings.bitsHigh = bitsHigh;
    settings.groupSize = 128;
    settings.refine = refine ? Refinement::Paper : Refinement::None;
    settings.layout = GroupLayout::Flattened;
    settings.scaleFormat = ScaleFormat::F32;
    settings.refineSteps = 300;
    settings.refineLearningRate = 0.01;
    return settings;
}

void QuantSettings::validate() const
{
    const auto fail = [](const std::string& problem) {
        throw Error("quantization settings", problem);
    };
    if (!(rho > 0 && rho <= 1))
        fail("rho must be in (0, 1], got " + std::to_string(rho));
    if (bitsHigh < 1 || bitsHigh > 8)
        fail("the high part's bit width must be 1 to 8, got " + std::to_string(bitsHigh));
    if (groupSize < 1)
        fail("the group size must be at least 1, got " + std::to_string(groupSize));
    if (split == SplitRule::Fixed && fixedH < 0)
        fail("a fixed h must be >= 0, got " + std::to_string(fixedH));
    if (refineSteps < 0)
        fail("refinement steps must be >= 0, got " + std::to_string(refineSteps));
    if (!(refineLearningRate >= 0))
        fail("the refinement learning rate must be >= 0");
    for (const auto& [name, h] : hOverride)
        if (h < 0)
            fail("h override for " + name + " must be >= 0, got " + std::to_string(h));
    for (const auto& [name, bits] : bitsHighOverride)
        if (bits < 1 || bits > 8)
            fail("bit width override for " + name + " must be 1 to 8, got " + std::to_string(bits));
}

std::string toString(SplitRule rule)
{
    switch (rule) {
    case SplitRule::Ratio:
        return "ratio";
    case SplitRule::RatioCount:
        return "ratio-count";
    case SplitRule::Fixed:
        return "fixed";
    }
    return "?";
}

std::string toString(Refinement refinement)
{
    switch (refinement) {
    case Refinement::None:
        return "none";
    case Refinement::Paper:
        return "paper";
    case Refinement::Best:
        return "best";
    }
    return "?";
}

std::string toString(ComponentOrder order)
{
    switch (order) {
    case ComponentOrder::Svd:
        return "svd";
    case ComponentOrder::Random:
        return "random";
    case ComponentOrder::Norm:
        return "norm";
    }
    return "?";
}

std::string toString(GroupLayout layout)
{
    switch (layout) {
    case GroupLayout::PerComponent:
        return "per-component";
    case GroupLayout::Flattened:
        return "flattened";
    }
    return "?";
}

std::string toString(ScaleFormat format)
{
    return format == ScaleFormat::F16 ? "f16" : "f32";
}

std::optional<SplitRule> splitRuleFromString(std::string_view name)
{
    for (SplitRule rule : {SplitRule::Ratio, SplitRule::RatioCount, SplitRule::Fixed})
        if (toString(rule) == name)
            return rule;
    return std::nullopt;
}

std::optional<Refinement> refinementFromString(std::string_view name)
{
    for (Refinement refinement : {Refinement::None, Refinement::Paper, Refinement::Best})
        if (toString(refinement) == name)
            return refinement;
    return std::nullopt;
}

std::optional<ComponentOrder> componentOrderFromString(std::string_view name)
{
    for (ComponentOrder order : {ComponentOrder::Svd, ComponentOrder::Random, ComponentOrder::Norm})
        if (toString(order) == name)
            return order;
    return std::nullopt;
}

std::optional<GroupLayout> groupLayoutFromString(std::string_view name)
{
    for (GroupLayout layout : {GroupLayout::PerComponent, GroupLayout::Flattened})
        if (toString(layout) == name)
            return layout;
    return std::nullopt;
}

std::optional<ScaleFormat> scaleFormatFromString(std::string_view name)
{
    for (ScaleFormat format : {ScaleFormat::F16, ScaleFormat::F32})
        if (toString(format) == name)
            return format;
    return std::nullopt;
}

} // namespace lq
