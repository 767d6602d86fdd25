#pragma once

#include <QString>

namespace lq::gui {

class AdapterDocument;

// Whether the document's current result loses to a whole-adapter baseline at the same or fewer
// bits, and what to change: the hint the Spectrum view and the status bar show.
struct BaselineAdvice
{
    QString brief; // one clause for the status bar; empty: no baseline beats the result
    QString text;  // the full hint, with the figures and the fix
};

// Compares the result's energy-weighted total error and average true bits with each baseline
// measured for the document's group settings (RTN-2, binary). A baseline beats the result when
// its error is lower while it spends at most the result's true bits. The fix named: refinement
// Best when the refinement is none (it never loses to none on any module), and, when the
// document's error curves are measured, the bit budget (paper count, as the panel's slider) that
// gives at the baseline's own true bits a lower predicted error. Empty without a current result
// or baselines.
BaselineAdvice baselineAdvice(const AdapterDocument& document);

} // namespace lq::gui
