#pragma once

#include "core/engine/quantsettings.h"
#include "widgets/tradeoffplot.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace lq::gui {

class AdapterDocument;
class Job;
class SpectrumView;
class Workspace;

// The Spectrum view's trade-off plot and width control (issue 27, "make tuning matter"): for the
// module the view shows, every (h, b_h) choice as error against bits per weight, without
// refinement and with it (the document's refinement, or Best when it has none), the current
// choice marked, and the whole-adapter baselines' errors on the module for reference. The
// unrefined points are read from the document's error curves when the bit budget has measured
// them (BudgetCurves: the whole adapter at once); until then a background job measures them for
// the shown module alone (a few milliseconds per choice), then its refined points.
//
// What the person does here becomes one undo command on the document (SetModuleSplitCommand):
// a click on a point sets the module's h and width; the width control, Up/Down on the spectrum
// or the wheel over its high bars set the width of every selected module (each keeps its h).
// While the split is dragged the mark follows it along the unrefined curve.
//
// Threads: UI thread. The refined points are measured by a Job that captures the adapter, the
// module and a copy of the settings, and writes only to a shared slot under a mutex that this
// object reads on the job's progress and finished signals.
class TradeOffController : public QObject
{
    Q_OBJECT

public:
    // The modules a width applies to (the presenter's selection; at least the shown module) and
    // a label naming them for the undo text.
    using Selection = std::function<std::vector<int>(QString* label)>;

    // `workspace` holds the documents the view shows; all must outlive the controller.
    TradeOffController(Workspace* workspace, SpectrumView* view, Selection selection,
                       QObject* parent = nullptr);
    ~TradeOffController() override;

    // The refined points' job for the shown module while it runs (tests, benchmarks).
    Job* refinedJob() const { return m_job; }
    // Whether every choice of the shown module has its refined point.
    bool refinedComplete() const;
    // The refinement the refined points use for `settings`.
    static lq::Refinement refinementFor(const lq::QuantSettings& settings);

private:
    void show(const AdapterDocument* document, int module);
    void follow(AdapterDocument* document);
    void refresh();
    void updateMark(std::optional<int> draggedH = std::nullopt);
    void startRefined();
    void takeRefined();
    void cancelRefined();
    void chooseChoice(int h, int bitsHigh);
    void setWidth(int bitsHigh);
    void stepWidth(int step);

    struct Point
    {
        int h = 0;
        int bitsHigh = 0;
        double bitsPaper = 0; // per weight
        double bitsTrue = 0;
        double error = 0;
        bool refined = false;
    };
    widgets::TradeOffPlot::Choice choiceOf(const Point& point) const;
    std::vector<Point> unrefinedPoints() const;
    const Point* find(const std::vector<Point>& points, int h, int bitsHigh) const;

    // What the refined points were measured for: other group settings or another refinement
    // make them another module's.
    struct RefinedKey
    {
        int groupSize = 0;
        lq::GroupLayout layout = lq::GroupLayout::PerComponent;
        lq::ScaleFormat scaleFormat = lq::ScaleFormat::F16;
        lq::Refinement refine = lq::Refinement::None;
        bool operator==(const RefinedKey&) const = default;
    };
    RefinedKey keyOf(const lq::QuantSettings& settings) const;
    // One module's points measured by the controller's own jobs.
    struct Refined
    {
        std::vector<Point> plain;  // without refinement, only while the curves are not measured
        std::vector<Point> points; // with m_key's refinement
        bool complete = false;
    };
    struct Slot; // the running job's output

    Workspace* m_workspace;
    SpectrumView* m_view;
    Selection m_selection;
    QPointer<AdapterDocument> m_document;
    int m_module = -1;
    std::vector<QMetaObject::Connection> m_connections; // to m_document
    RefinedKey m_key;
    std::map<int, Refined> m_refined; // per module of m_document, for m_key
    QPointer<Job> m_job;
    int m_jobModule = -1;
    std::shared_ptr<Slot> m_slot;
    QString m_refinedFailure; // why the last refined points could not be measured
};

} // namespace lq::gui
