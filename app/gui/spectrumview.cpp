#include "spectrumview.h"

#include "adapterdocument.h"
#include "core/engine/splitrule.h"
#include "viewdata.h"
#include "widgets/spectrumplot.h"

#include <QLabel>
#include <QVBoxLayout>

namespace lq::gui {

SpectrumView::SpectrumView(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 0);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("moduleSummary"));
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);
    m_plot = new widgets::SpectrumPlot(this);
    m_plot->setObjectName(QStringLiteral("spectrumPlot"));
    layout->addWidget(m_plot, 1);
}

void SpectrumView::showModule(const AdapterDocument* document, int module)
{
    if (!document || module < 0 || module >= document->moduleCount()) {
        m_plot->clear();
        m_shown = nullptr;
        m_summary->setText(document ? tr("Select a module in the tree.")
                                    : tr("Open an adapter: File › Open Adapter, or drop a "
                                         "folder or .safetensors file here."));
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
        m_plot->setSplit(document->effectiveH(module));
    }
    const lq::ModuleResult* result = document->moduleResult(module);
    QString summary = result ? moduleSummary(*document, module, *result, false)
                             : tr("<b>%1</b>: quantizing…").arg(document->moduleLabel(module));
    if (result && document->resultState() == AdapterDocument::ResultState::Computing)
        summary += tr(" &nbsp;<i>(updating…)</i>");
    m_summary->setText(summary);
}

void SpectrumView::showPreview(const QString& summary)
{
    m_summary->setText(summary);
}

} // namespace lq::gui
