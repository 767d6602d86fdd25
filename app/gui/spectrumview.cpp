#include "spectrumview.h"

#include "adapterdocument.h"
#include "core/engine/splitrule.h"
#include "viewdata.h"
#include "widgets/spectrumplot.h"
#include "widgets/tradeoffplot.h"

#include <Eigen/Core>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

namespace lq::gui {

namespace {

// Wider than this times its height, the view puts the two plots side by side: each then keeps
// a plot area about as wide as it is tall.
constexpr double kSideBySideAspect = 1.25;

} // namespace

SpectrumView::SpectrumView(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 0);
    layout->setSpacing(4);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("moduleSummary"));
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);

    auto* controls = new QHBoxLayout;
    controls->setSpacing(6);
    auto* widthLabel = new QLabel(tr("High part:"), this);
    m_bitsHigh = new QSpinBox(this);
    m_bitsHigh->setObjectName(QStringLiteral("spectrumBitsHigh"));
    m_bitsHigh->setRange(1, 8);
    m_bitsHigh->setSuffix(tr(" bits"));
    m_bitsHigh->setKeyboardTracking(false);
    m_bitsHigh->setToolTip(tr("Bits of the high part of the selected module, or of every selected "
                              "module (one undo step). Also: Up and Down on the spectrum, or the "
                              "mouse wheel over its orange bars."));
    widthLabel->setBuddy(m_bitsHigh);
    auto* countLabel = new QLabel(tr("Count:"), this);
    m_count = new QComboBox(this);
    m_count->setObjectName(QStringLiteral("tradeOffBitCount"));
    m_count->addItem(tr("true bits"), true);
    m_count->addItem(tr("paper bits"), false);
    m_count->setToolTip(tr("The bit count of the trade-off plot: true (codes, scales, zero points "
                           "and headers, what a file holds) or the paper's (codes only)."));
    countLabel->setBuddy(m_count);
    m_note = new QLabel(this);
    m_note->setObjectName(QStringLiteral("tradeOffNote"));
    m_note->setTextFormat(Qt::RichText);
    m_note->setWordWrap(true);
    m_note->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    controls->addWidget(widthLabel);
    controls->addWidget(m_bitsHigh);
    controls->addWidget(countLabel);
    controls->addWidget(m_count);
    controls->addWidget(m_note, 1);
    layout->addLayout(controls);

    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_splitter->setObjectName(QStringLiteral("spectrumSplitter"));
    m_splitter->setChildrenCollapsible(false);
    m_plot = new widgets::SpectrumPlot(m_splitter);
    m_plot->setObjectName(QStringLiteral("spectrumPlot"));
    m_plot->setMinimumSize(200, 150);
    m_tradeOff = new widgets::TradeOffPlot(m_splitter);
    m_tradeOff->setObjectName(QStringLiteral("tradeOffPlot"));
    m_tradeOff->setMinimumSize(200, 150);
    m_splitter->addWidget(m_plot);
    m_splitter->addWidget(m_tradeOff);
    layout->addWidget(m_splitter, 1);

    connect(m_bitsHigh, &QSpinBox::valueChanged, this, &SpectrumView::bitsHighRequested);
    connect(m_count, &QComboBox::currentIndexChanged, this, &SpectrumView::bitCountChanged);
}

bool SpectrumView::trueBits() const
{
    return m_count->currentData().toBool();
}

void SpectrumView::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    const Qt::Orientation wanted =
        width() > kSideBySideAspect * height() ? Qt::Horizontal : Qt::Vertical;
    if (m_splitter->orientation() != wanted) {
        m_splitter->setOrientation(wanted);
        // Half each: sizes made for the other orientation mean nothing in this one.
        const int extent = wanted == Qt::Horizontal ? m_splitter->width() : m_splitter->height();
        m_splitter->setSizes({extent / 2, extent - extent / 2});
    }
}

void SpectrumView::setNote(const QString& text)
{
    m_note->setText(text);
}

namespace {

// How the reference's ratio rule relates the marker to the rho line, for this module: a short
// note for the rho label and a sentence for the tool tip; empty under other rules or overrides.
std::pair<QString, QString> ruleNote(const AdapterDocument& document, int module)
{
    const lq::QuantSettings& settings = document.settings();
    if (settings.split != lq::SplitRule::Ratio || document.hOverride(module))
        return {};
    const std::vector<double>& values = document.singularValues(module);
    const Eigen::VectorXf spectrum =
        Eigen::Map<const Eigen::VectorXd>(values.data(), Eigen::Index(values.size())).cast<float>();
    const int reference = lq::ratioRuleH(spectrum, settings.rho);
    const int count = lq::ratioCountH(spectrum, settings.rho);
    const QString general = SpectrumView::tr(
        "The split follows the reference's ratio rule, which keeps one component fewer than the "
        "smallest number whose energy reaches ρ whenever two or more are needed (docs/METHOD.md "
        "2.2). The rule ratio-count in the Quantization panel keeps exactly that number.");
    if (count <= reference)
        return {QString(), general};
    return {SpectrumView::tr("reference rule: h = %1, one short of the %2 that reach it")
                .arg(reference)
                .arg(count),
            SpectrumView::tr("Here h = %1 though %2 components are needed to reach ρ = %3, so the "
                             "marker sits one bar left of where the energy curve crosses the ρ "
                             "line.")
                    .arg(reference)
                    .arg(count)
                    .arg(settings.rho) +
                QLatin1Char(' ') + general};
}

} // namespace

void SpectrumView::showModule(const AdapterDocument* document, int module)
{
    if (!document || module < 0 || module >= document->moduleCount()) {
        m_plot->clear();
        m_plot->setRuleNote(QString(), QString());
        m_shown = nullptr;
        m_summary->setText(document ? tr("Select a module in the tree.")
                                    : tr("Open an adapter: File › Open Adapter, or drop a "
                                         "folder or .safetensors file here."));
        m_bitsHigh->setEnabled(false);
        emit moduleShown(document, -1);
        return;
    }
    if (!m_plot->isDragging()) {
        if (m_shown != document || m_shownModule != module) {
            m_plot->setSpectrum(document->moduleLabel(module), document->singularValues(module));
            m_shown = document;
            m_shownModule = module;
        }
        const lq::QuantSettings& settings = document->settings();
        const bool ruleUsesRho = settings.split != lq::SplitRule::Fixed;
        m_plot->setRho(ruleUsesRho ? settings.rho : -1.0);
        m_plot->setBitsHigh(document->effectiveBitsHigh(module));
        const auto [note, explanation] = ruleNote(*document, module);
        m_plot->setRuleNote(note, explanation);
        m_plot->setSplit(document->effectiveH(module));
    }
    {
        const QSignalBlocker blocker(m_bitsHigh);
        m_bitsHigh->setEnabled(true);
        m_bitsHigh->setValue(document->effectiveBitsHigh(module));
    }
    const lq::ModuleResult* result = document->moduleResult(module);
    QString summary = result ? moduleSummary(*document, module, *result, false)
                             : tr("<b>%1</b>: quantizing…").arg(document->moduleLabel(module));
    if (result && document->resultState() == AdapterDocument::ResultState::Computing) {
        // The first result of a refined document comes unrefined: say which figure is shown.
        const bool unrefinedFirst = document->result().settings.refine == lq::Refinement::None &&
                                    document->settings().refine != lq::Refinement::None;
        summary += unrefinedFirst
                       ? tr(" &nbsp;<i>(without refinement; the refined result follows…)</i>")
                       : tr(" &nbsp;<i>(updating…)</i>");
    }
    m_summary->setText(summary);
    emit moduleShown(document, module);
}

void SpectrumView::showPreview(const QString& summary)
{
    m_summary->setText(summary);
}

} // namespace lq::gui
