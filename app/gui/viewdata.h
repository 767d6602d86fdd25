#pragma once

#include "core/engine/quantresult.h"
#include "core/engine/sweep.h"
#include "core/io/adapter.h"
#include "widgets/paretoplot.h"

#include <QString>
#include <utility>
#include <vector>

namespace lq::gui {

class AdapterDocument;

// What the views show, computed from a document: plain numbers and text, so that the widgets
// only draw and the window only passes things along.

// Each component's share of the update's energy ||B A||_F^2, before reparameterization
// (||b_i a_i^T||_F^2 = ||b_i||^2 ||a_i||^2, b_i column i of B, a_i row i of A; these need not sum
// to 1, the components of B A are not orthogonal) and after it (s_i^2, which sum to 1).
struct ComponentEnergies
{
    std::vector<double> before;
    std::vector<double> after;
};
ComponentEnergies componentEnergies(const lq::ModuleFactors& factors,
                                    const std::vector<double>& singularValues);

// The error view's x-axis groups: the position in the document's display order of each layer's
// first module, labelled "L<layer>".
std::vector<std::pair<int, QString>> layerGroups(const AdapterDocument& document);

// One line about a module: shape, h, bits per weight (paper and true, labelled), error.
QString moduleSummary(const AdapterDocument& document, int module, const lq::ModuleResult& result,
                      bool preview);

// The status bar's adapter totals: parameters, memory before and after (B, kB or MB), average bits
// (paper and true, labelled) and the energy-weighted error.
QString adapterTotals(const AdapterDocument& document);

// The Pareto plot's curves from a sweep: per method, its Pareto front in (average true bits,
// total error): the rows no other row of the same method beats on both, in order of bits, each
// labelled with its setting.
std::vector<widgets::ParetoPlot::Series> paretoSeries(const lq::SweepResult& sweep);
// How the plot and its legend name a sweep method.
QString sweepMethodName(lq::SweepMethod method);

} // namespace lq::gui
