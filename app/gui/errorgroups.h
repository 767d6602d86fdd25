#pragma once

#include <QString>
#include <vector>

namespace lq::gui {

class AdapterDocument;

// How the Error view lists an adapter's error: one bar per module, per layer or per projection
// kind (q_proj, v_proj, ...).
enum class ErrorGrouping
{
    Modules,
    Layers,
    Kinds,
};

struct ErrorGroup
{
    QString label;            // "L3", "q_proj"; a module's label for Modules
    std::vector<int> modules; // module indices, in display order
};

// The document's modules in groups: each module alone (display order), by layer (numeric order,
// modules outside any layer last) or by kind (in the order kinds first appear in the display
// order; a module without a kind is a kind of its own name).
std::vector<ErrorGroup> groupModules(const AdapterDocument& document, ErrorGrouping grouping);

// The error of a group as the adapter's total weighs it (QuantResult::updateTotals):
//   sqrt( sum_i e_i^2 ||dW_i||_F^2 / sum_i ||dW_i||_F^2 )
// over the group's modules i, with e_i = perModule[i] (indexed by module) and ||dW_i||^2 the
// result's normSq. Needs a result; 0 for a group of zero energy.
double combinedError(const AdapterDocument& document, const std::vector<int>& modules,
                     const std::vector<double>& perModule);

} // namespace lq::gui
