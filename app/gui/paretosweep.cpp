#include "paretosweep.h"

#include "adapterdocument.h"
#include "job.h"

namespace lq::gui {

namespace {

bool sameGroups(const lq::SweepSettings& sweep, const lq::QuantSettings& settings)
{
    return sweep.groupSize == settings.groupSize && sweep.layout == settings.layout &&
           sweep.scaleFormat == settings.scaleFormat;
}

} // namespace

ParetoSweep::ParetoSweep(AdapterDocument* document) : QObject(document), m_document(document) {}

lq::SweepSettings ParetoSweep::settingsFor(const AdapterDocument& document)
{
    lq::SweepSettings sweep;
    sweep.groupSize = document.settings().groupSize;
    sweep.layout = document.settings().layout;
    sweep.scaleFormat = document.settings().scaleFormat;
    return sweep;
}

const lq::SweepResult* ParetoSweep::result() const
{
    return m_result && sameGroups(m_result->settings, m_document->settings()) ? m_result.get()
                                                                              : nullptr;
}

Job* ParetoSweep::start()
{
    if (m_job)
        return m_job;
    auto slot = std::make_shared<std::shared_ptr<const lq::SweepResult>>();
    m_slot = slot;
    const std::shared_ptr<const lq::Adapter> adapter = m_document->sharedAdapter();
    const lq::SweepSettings settings = settingsFor(*m_document);
    m_job = new Job(
        tr("Sweeping methods and bit widths"),
        [adapter, settings, slot](const lq::ProgressFn& progress) {
            auto result =
                std::make_shared<lq::SweepResult>(lq::runSweep(*adapter, settings, progress));
            // A cancelled sweep keeps its finished rows; the plot shows complete sweeps only.
            if (result->cancelled)
                return false;
            *slot = std::move(result);
            return true;
        },
        this);
    connect(m_job, &Job::finished, this, &ParetoSweep::onFinished);
    m_job->start();
    emit started(m_job);
    return m_job;
}

void ParetoSweep::onFinished()
{
    Job* job = m_job;
    m_job = nullptr;
    const Job::Outcome outcome = job->outcome();
    const QString message = job->errorMessage();
    job->deleteLater();
    m_error = outcome == Job::Outcome::Failed ? message : QString();
    if (outcome == Job::Outcome::Succeeded)
        m_result = *m_slot;
    m_slot.reset();
    emit finished(outcome == Job::Outcome::Succeeded, message);
}

} // namespace lq::gui
