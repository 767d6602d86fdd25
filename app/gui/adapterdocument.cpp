#include "adapterdocument.h"

#include "budgetcurves.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/reparameterize.h"
#include "core/engine/splitrule.h"
#include "paretosweep.h"

#include <QDir>
#include <QFileInfo>
#include <QUndoStack>
#include <algorithm>
#include <cmath>
#include <omp.h>

namespace lq::gui {

namespace {

Eigen::VectorXf toVector(const std::vector<double>& values)
{
    Eigen::VectorXf vector(Eigen::Index(values.size()));
    for (std::size_t i = 0; i < values.size(); ++i)
        vector[Eigen::Index(i)] = float(values[i]);
    return vector;
}

// One module's work on the UI thread (a drag step, its release, a reparameterization) runs on
// this thread alone while it lives. Eigen's products would otherwise fork an OpenMP team for
// each small block (the error's Gram chunks are 256 x 32), and on a busy machine every join waits
// for a descheduled thread: tens of milliseconds per drag step instead of about one. Only this
// thread's setting changes; the jobs' pool threads keep every core.
class OneThreadHere
{
public:
    OneThreadHere() : m_previous(omp_get_max_threads()) { omp_set_num_threads(1); }
    ~OneThreadHere() { omp_set_num_threads(m_previous); }
    OneThreadHere(const OneThreadHere&) = delete;
    OneThreadHere& operator=(const OneThreadHere&) = delete;

private:
    int m_previous;
};

} // namespace

AdapterDocument::AdapterDocument(std::shared_ptr<const lq::Adapter> adapter,
                                 std::vector<std::vector<double>> singularValues,
                                 const lq::QuantSettings& settings, QObject* parent,
                                 std::optional<PackedOrigin> packed)
    : QObject(parent), m_adapter(std::move(adapter)), m_singularValues(std::move(singularValues)),
      m_settings(packed ? packed->settings : settings),
      m_result(std::make_shared<lq::QuantResult>()), m_packed(std::move(packed)),
      m_undoStack(new QUndoStack(this))
{
    m_singularValues.resize(m_adapter->modules().size());
    m_displayOrder = lq::modulesByLayer(m_adapter->modules());
    if (!m_packed) {
        // Overrides name modules of another adapter; they do not carry over.
        m_settings.hOverride.clear();
        m_settings.bitsHighOverride.clear();
    }
    m_budgetCurves = new BudgetCurves(this);
    m_paretoSweep = new ParetoSweep(this);
}

AdapterDocument::~AdapterDocument()
{
    // Jobs are children: QObject's destructor deletes them, and each one waits for its work.
    if (m_job)
        m_job->cancel();
    if (m_baselineJob)
        m_baselineJob->cancel();
}

QString AdapterDocument::path() const
{
    return QString::fromStdString(m_adapter->path());
}

QString AdapterDocument::displayName() const
{
    const QFileInfo info(path());
    if (m_packed)
        return tr("%1 (packed)").arg(info.fileName());
    if (info.isDir())
        return info.fileName().isEmpty() ? info.absoluteFilePath() : info.fileName();
    // A .safetensors file given directly: its folder names the adapter better than
    // "adapter_model.safetensors".
    return info.absoluteDir().dirName() + QLatin1Char('/') + info.fileName();
}

namespace {

const QString kPeftFileStem = QStringLiteral("adapter_model");

} // namespace

QString AdapterDocument::baseName() const
{
    const QFileInfo info(path());
    if (info.isDir())
        return QDir(info.absoluteFilePath()).dirName();
    QString name = info.fileName();
    for (const QString& suffix : {QStringLiteral(".lqa.h5"), QStringLiteral(".safetensors")})
        if (name.endsWith(suffix, Qt::CaseInsensitive)) {
            name.chop(suffix.size());
            break;
        }
    return name == kPeftFileStem ? info.absoluteDir().dirName() : name;
}

QString AdapterDocument::placeFolder() const
{
    const QFileInfo info(path());
    QDir folder = info.isDir() ? QDir(info.absoluteFilePath()) : info.absoluteDir();
    if (info.isDir() || info.completeBaseName() == kPeftFileStem)
        folder.cdUp();
    return folder.absolutePath();
}

const lq::LoraModule& AdapterDocument::module(int index) const
{
    return m_adapter->modules().at(std::size_t(index));
}

int AdapterDocument::displayPosition(int index) const
{
    const auto found = std::find(m_displayOrder.begin(), m_displayOrder.end(), index);
    return found == m_displayOrder.end() ? -1 : int(found - m_displayOrder.begin());
}

QString AdapterDocument::moduleName(int index) const
{
    return QString::fromStdString(module(index).name);
}

QString AdapterDocument::moduleLabel(int index) const
{
    const lq::LoraModule& m = module(index);
    if (m.layer < 0)
        return QString::fromStdString(m.name);
    return tr("layer %1 · %2").arg(m.layer).arg(QString::fromStdString(m.kind));
}

const std::vector<double>& AdapterDocument::singularValues(int index) const
{
    return m_singularValues.at(std::size_t(index));
}

std::optional<int> AdapterDocument::hOverride(int index) const
{
    const auto found = m_settings.hOverride.find(module(index).name);
    return found == m_settings.hOverride.end() ? std::nullopt : std::optional<int>(found->second);
}

std::optional<int> AdapterDocument::bitsHighOverride(int index) const
{
    const auto found = m_settings.bitsHighOverride.find(module(index).name);
    return found == m_settings.bitsHighOverride.end() ? std::nullopt
                                                      : std::optional<int>(found->second);
}

std::optional<lq::Refinement> AdapterDocument::refineOverride(int index) const
{
    const auto found = m_settings.refineOverride.find(module(index).name);
    return found == m_settings.refineOverride.end() ? std::nullopt
                                                    : std::optional<lq::Refinement>(found->second);
}

lq::Refinement AdapterDocument::effectiveRefinement(int index) const
{
    return lq::chooseRefinement(m_settings, module(index).name);
}

bool AdapterDocument::setByHand(int index) const
{
    const auto differsFromFile = [&](const std::optional<int>& value,
                                     const std::map<std::string, int> lq::QuantSettings::*stored) {
        if (!value)
            return false;
        if (!m_packed)
            return true;
        const std::map<std::string, int>& fromFile = m_packed->settings.*stored;
        const auto found = fromFile.find(module(index).name);
        return found == fromFile.end() || found->second != *value;
    };
    return refineOverride(index) ||
           differsFromFile(hOverride(index), &lq::QuantSettings::hOverride) ||
           differsFromFile(bitsHighOverride(index), &lq::QuantSettings::bitsHighOverride);
}

int AdapterDocument::effectiveH(int index) const
{
    return hUnder(index, m_settings);
}

int AdapterDocument::hUnder(int index, const lq::QuantSettings& rule) const
{
    return lq::chooseH(toVector(singularValues(index)), rule, module(index).name);
}

int AdapterDocument::effectiveBitsHigh(int index) const
{
    return lq::chooseBitsHigh(m_settings, module(index).name);
}

const lq::ModuleResult* AdapterDocument::moduleResult(int index) const
{
    if (index < 0 || std::size_t(index) >= m_result->modules.size())
        return nullptr;
    return &m_result->modules[std::size_t(index)];
}

std::optional<double> AdapterDocument::recordedError(int index) const
{
    if (!m_packed || index < 0 || index >= moduleCount())
        return std::nullopt;
    const lq::QuantSettings& file = m_packed->settings;
    const bool sameQuantizer =
        m_settings.groupSize == file.groupSize && m_settings.layout == file.layout &&
        m_settings.scaleFormat == file.scaleFormat && m_settings.refine == file.refine &&
        m_settings.order == file.order && m_settings.orderSeed == file.orderSeed &&
        m_settings.refineSteps == file.refineSteps &&
        m_settings.refineLearningRate == file.refineLearningRate;
    const std::string& name = module(index).name;
    const auto stored = [&name](const std::map<std::string, int>& values) {
        const auto found = values.find(name);
        return found == values.end() ? -1 : found->second;
    };
    if (!sameQuantizer || refineOverride(index) || effectiveH(index) != stored(file.hOverride) ||
        effectiveBitsHigh(index) != stored(file.bitsHighOverride))
        return std::nullopt;
    return m_packed->relErr.at(std::size_t(index));
}

std::optional<double> AdapterDocument::recordedTotal() const
{
    if (!m_packed)
        return std::nullopt;
    for (int i = 0; i < moduleCount(); ++i)
        if (!recordedError(i))
            return std::nullopt;
    return m_packed->relErrTotal;
}

double AdapterDocument::shownError(int index) const
{
    if (const std::optional<double> recorded = recordedError(index))
        return *recorded;
    const lq::ModuleResult* result = moduleResult(index);
    return result ? result->relErr : 0.0;
}

double AdapterDocument::shownTotal() const
{
    if (!m_packed)
        return m_result->relErrTotal;
    if (const std::optional<double> recorded = recordedTotal())
        return *recorded;
    double errSq = 0, normSq = 0;
    for (int i = 0; i < moduleCount() && std::size_t(i) < m_result->modules.size(); ++i) {
        const double norm = m_result->modules[std::size_t(i)].normSq;
        errSq += shownError(i) * shownError(i) * norm;
        normSq += norm;
    }
    return normSq > 0 ? std::sqrt(errSq / normSq) : 0.0;
}

lq::ModuleFactors AdapterDocument::factors(int index) const
{
    return m_adapter->factors(std::size_t(index));
}

const lq::ModuleReparam& AdapterDocument::reparam(int index)
{
    auto found = std::find_if(m_reparams.begin(), m_reparams.end(),
                              [index](const auto& entry) { return entry.first == index; });
    if (found != m_reparams.end()) {
        m_reparams.splice(m_reparams.begin(), m_reparams, found);
        return m_reparams.front().second;
    }
    const OneThreadHere oneThread;
    const lq::ModuleFactors f = factors(index);
    m_reparams.emplace_front(index, lq::reparameterize(f.B, f.A));
    if (m_reparams.size() > kReparamCacheSize)
        m_reparams.pop_back();
    return m_reparams.front().second;
}

lq::ModuleResult AdapterDocument::preview(int index, int h)
{
    lq::QuantSettings fast = m_settings;
    fast.refine = lq::Refinement::None;
    fast.refineOverride.clear();
    const OneThreadHere oneThread;
    const lq::ModuleReparam& r = reparam(index);
    return lq::quantizeModule(module(index), factors(index), r, h, effectiveBitsHigh(index), fast);
}

void AdapterDocument::setSettings(const lq::QuantSettings& settings)
{
    m_settings = settings;
    emit settingsChanged();
    recompute({});
}

void AdapterDocument::setModuleOverride(int index, std::optional<int> h,
                                        std::optional<int> bitsHigh)
{
    const std::string& name = module(index).name;
    if (h)
        m_settings.hOverride[name] = *h;
    else
        m_settings.hOverride.erase(name);
    if (bitsHigh)
        m_settings.bitsHighOverride[name] = *bitsHigh;
    else
        m_settings.bitsHighOverride.erase(name);
    emit settingsChanged();
    recompute({index});
}

void AdapterDocument::setModuleOverrides(const std::vector<int>& modules,
                                         const std::vector<std::optional<int>>& h,
                                         const std::vector<std::optional<int>>& bitsHigh,
                                         const std::vector<std::optional<lq::Refinement>>& refine)
{
    for (std::size_t i = 0; i < modules.size(); ++i) {
        const std::string& name = module(modules[i]).name;
        if (refine.at(i))
            m_settings.refineOverride[name] = *refine[i];
        else
            m_settings.refineOverride.erase(name);
        if (h.at(i))
            m_settings.hOverride[name] = *h[i];
        else
            m_settings.hOverride.erase(name);
        if (bitsHigh.at(i))
            m_settings.bitsHighOverride[name] = *bitsHigh[i];
        else
            m_settings.bitsHighOverride.erase(name);
    }
    emit settingsChanged();
    if (!modules.empty())
        recompute(modules);
}

void AdapterDocument::quantize(bool validate)
{
    recompute({}, validate);
}

void AdapterDocument::cancelJob()
{
    if (m_job)
        m_job->cancel();
    if (m_baselineJob)
        m_baselineJob->cancel();
}

lq::QuantResult& AdapterDocument::mutableResult()
{
    // Copy on write: an export may be reading the current result on a worker thread.
    if (m_result.use_count() > 1)
        m_result = std::make_shared<lq::QuantResult>(*m_result);
    return *m_result;
}

void AdapterDocument::recompute(std::vector<int> modules, bool validate)
{
    m_validation.reset(); // it described the result before this change
    if (m_baselineJob && !m_baselineJob->matches(m_settings)) {
        // Measuring for group settings no longer in use: the next result starts the right one.
        m_baselineJob->cancel();
        m_baselineJob = nullptr; // its finished() is ignored; it deletes itself
    }
    const bool oneFastModule = !validate && modules.size() == 1 &&
                               effectiveRefinement(modules.front()) == lq::Refinement::None &&
                               !m_job && hasResult();
    if (oneFastModule) {
        const int index = modules.front();
        const OneThreadHere oneThread;
        const lq::ModuleReparam& r = reparam(index);
        lq::ModuleResult updated =
            lq::quantizeModule(module(index), factors(index), r, effectiveH(index),
                               effectiveBitsHigh(index), m_settings);
        lq::QuantResult& result = mutableResult();
        result.modules[std::size_t(index)] = std::move(updated);
        result.settings = m_settings;
        result.updateTotals();
        emit moduleChanged(index);
        emit changed();
        return;
    }
    if (m_job) {
        // The running job works from older settings: fold what it covers into the new job,
        // the validation the person asked for included (it would otherwise vanish unseen),
        // unless they cancelled it.
        validate = validate || (m_job->validates() && !m_job->isCancelRequested());
        if (m_job->isWholeAdapter() || modules.empty())
            modules.clear();
        else
            modules.insert(modules.end(), m_job->modules().begin(), m_job->modules().end());
        m_job->cancel();
        m_job = nullptr; // its finished() is ignored; it deletes itself
    }
    if (!hasResult())
        modules.clear();
    std::sort(modules.begin(), modules.end());
    modules.erase(std::unique(modules.begin(), modules.end()), modules.end());
    startJob(std::move(modules), validate);
}

void AdapterDocument::startJob(std::vector<int> modules, bool validate)
{
    QuantizeJob::Input input;
    input.adapter = m_adapter;
    input.settings = m_settings;
    // The first result comes without the refinement, at once, and the refined one follows
    // (onJobFinished): with refinement Best a 7B adapter takes seconds, at small ranks a minute.
    if (!hasResult() && modules.empty() && !validate)
        input.settings.refine = lq::Refinement::None;
    input.modules = std::move(modules);
    input.validate = validate;
    auto* job = new QuantizeJob(std::move(input), this);
    m_job = job;
    connect(job, &Job::finished, this,
            [this, job](Job::Outcome outcome) { onJobFinished(job, outcome); });
    m_state = ResultState::Computing;
    job->start();
    emit jobStarted(job);
    emit resultChanged();
    emit changed();
}

void AdapterDocument::onJobFinished(QuantizeJob* job, Job::Outcome outcome)
{
    job->deleteLater();
    if (job != m_job)
        return; // superseded by a newer job
    m_job = nullptr;
    if (outcome == Job::Outcome::Succeeded) {
        if (job->isWholeAdapter()) {
            m_result = std::make_shared<lq::QuantResult>(job->takeResult());
        } else {
            std::vector<lq::ModuleResult> updated = job->takeModuleResults();
            lq::QuantResult& result = mutableResult();
            for (std::size_t i = 0; i < updated.size(); ++i)
                result.modules[std::size_t(job->modules()[i])] = std::move(updated[i]);
            result.settings = job->settings();
            result.updateTotals();
        }
        m_validation = job->validation();
        m_state = ResultState::Current;
    } else {
        m_state = ResultState::Stale;
    }
    emit resultChanged();
    emit changed();
    emit jobFinished(outcome, job->errorMessage());
    if (outcome == Job::Outcome::Succeeded) {
        measureBaselines();
        if (job->isWholeAdapter() && job->settings().refine != m_settings.refine)
            recompute({}); // the unrefined first result is shown: now the refined one
    }
}

const BaselineErrors* AdapterDocument::rtn2Baseline() const
{
    return m_rtn2 && m_rtn2->matches(m_settings) ? &*m_rtn2 : nullptr;
}

const BaselineErrors* AdapterDocument::binaryBaseline() const
{
    return m_binary && m_binary->matches(m_settings) ? &*m_binary : nullptr;
}

void AdapterDocument::measureBaselines()
{
    // A running job measures for the current settings: every change of settings goes through
    // recompute(), which drops one measuring for others.
    if ((rtn2Baseline() && binaryBaseline()) || m_baselineJob)
        return;
    auto* job = new BaselineJob(m_adapter, m_settings, this);
    m_baselineJob = job;
    connect(job, &Job::finished, this,
            [this, job](Job::Outcome outcome) { onBaselinesFinished(job, outcome); });
    job->start();
    emit jobStarted(job);
}

void AdapterDocument::onBaselinesFinished(BaselineJob* job, Job::Outcome outcome)
{
    job->deleteLater();
    if (job != m_baselineJob)
        return; // superseded by one for newer group settings
    m_baselineJob = nullptr;
    if (outcome == Job::Outcome::Succeeded) {
        m_rtn2 = job->rtn2();
        m_binary = job->binary();
        emit baselinesChanged();
    } else if (outcome == Job::Outcome::Failed) {
        emit baselinesFailed(job->errorMessage());
    }
}

} // namespace lq::gui
