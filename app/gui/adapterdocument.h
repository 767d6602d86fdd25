#pragma once

#include "baselinejob.h"
#include "core/engine/quantresult.h"
#include "core/io/adapter.h"
#include "job.h"
#include "loadjob.h"
#include "quantizejob.h"

#include <QObject>
#include <QString>
#include <list>
#include <memory>
#include <optional>
#include <vector>

class QUndoStack;

namespace lq::gui {

class BudgetCurves;
class ParetoSweep;

// One open adapter: the loaded lq::Adapter, its quantization settings (with per-module
// overrides of h and the high bit width), the current lq::QuantResult, the whole-adapter
// baselines' errors, cached SVD reparameterizations, and the undo stack of its edits.
//
// Edits (setSettings, setModuleOverride) are made by undo commands only; each one brings the
// result up to date: one module without refinement synchronously (it takes a few ms, see
// tests/benchmarks/guibenchmark.cpp), anything else with a QuantizeJob in the background. An
// edit made while a job runs cancels it and starts one that covers both.
//
// Threads: lives on the UI thread. Jobs get a shared_ptr to the immutable adapter and copies of
// the settings; exports get a shared_ptr to the result, which the document copies before
// changing it while anyone else holds it (copy on write), so a running export never sees a change.
class AdapterDocument : public QObject
{
    Q_OBJECT

public:
    enum class ResultState
    {
        Current,   // the result matches the settings
        Computing, // a job is bringing it up to date
        Stale,     // the last job was cancelled or failed: quantize again
    };

    // `settings` apply without their per-module overrides (those name another adapter's
    // modules). A document opened from a packed file gets `packed`: it starts from the file's
    // settings and per-module splits instead.
    AdapterDocument(std::shared_ptr<const lq::Adapter> adapter,
                    std::vector<std::vector<double>> singularValues,
                    const lq::QuantSettings& settings, QObject* parent = nullptr,
                    std::optional<PackedOrigin> packed = std::nullopt);
    ~AdapterDocument() override;

    const lq::Adapter& adapter() const { return *m_adapter; }
    std::shared_ptr<const lq::Adapter> sharedAdapter() const { return m_adapter; }
    QString path() const;
    // The folder's name, or "folder/file.safetensors"; "file.lqa.h5 (packed)" for a packed file.
    QString displayName() const;
    // The adapter's name for the files made from it, every dot kept: the folder's name
    // ("qwen2.5-3b-qv-r4-f32"), a file's name without ".safetensors" or ".lqa.h5", and for
    // PEFT's "adapter_model.safetensors" the name of the folder that holds it.
    QString baseName() const;
    // The folder the adapter sits in as a whole: a PEFT folder's parent (the folder itself is
    // the adapter's, also when it was opened by its adapter_model.safetensors), else the file's.
    QString placeFolder() const;
    // Set when the adapter is the dequantized content of a packed .lqa.h5 file (read-only
    // source: exports write new files, and the errors shown are against these factors, not the
    // original adapter's; the file's own errors against the original are here).
    const std::optional<PackedOrigin>& packedOrigin() const { return m_packed; }

    int moduleCount() const { return int(m_adapter->modules().size()); }
    const lq::LoraModule& module(int index) const;
    // Module indices in the order the views list them: numbered layers in numeric order, each
    // layer's modules in file order, then the modules outside any layer. Files usually sort
    // their tensor names as text, which would put layer 10 before layer 2.
    const std::vector<int>& displayOrder() const { return m_displayOrder; }
    // Where module `index` is in displayOrder(); -1 for an index out of range.
    int displayPosition(int index) const;
    // "layer 3 · q_proj" or the full name for a module outside any layer.
    QString moduleLabel(int index) const;
    QString moduleName(int index) const;
    const std::vector<double>& singularValues(int index) const;

    QUndoStack* undoStack() const { return m_undoStack; }

    const lq::QuantSettings& settings() const { return m_settings; }
    // h and the high bit width module `index` gets under the current settings.
    int effectiveH(int index) const;
    // h module `index` would get under `rule` (its overrides included).
    int hUnder(int index, const lq::QuantSettings& rule) const;
    int effectiveBitsHigh(int index) const;
    std::optional<int> hOverride(int index) const;
    std::optional<int> bitsHighOverride(int index) const;
    // The module's own refinement, when it has one; effectiveRefinement is what it gets.
    std::optional<lq::Refinement> refineOverride(int index) const;
    lq::Refinement effectiveRefinement(int index) const;
    // Whether h or the high bit width of module `index` was set by hand: an override that is not
    // simply what the packed file this document came from stored.
    bool setByHand(int index) const;

    // Empty (no modules) until the first job has finished.
    const lq::QuantResult& result() const { return *m_result; }
    std::shared_ptr<const lq::QuantResult> sharedResult() const { return m_result; }
    bool hasResult() const { return !m_result->modules.empty(); }
    const lq::ModuleResult* moduleResult(int index) const;
    ResultState resultState() const { return m_state; }

    // For a document opened from a packed file, the error module `index` has against the
    // original adapter as the file recorded it, while the module is quantized as the file stored
    // it (its h and bit width, the file's groups, scales and refinement). Empty otherwise: then
    // the only error known is against the decoded factors, which re-quantizing at the stored
    // choice nearly reproduces (about 0, not the file's error).
    std::optional<double> recordedError(int index) const;
    // The file's energy-weighted total, while every module is as the file stored it.
    std::optional<double> recordedTotal() const;
    // What the views show as a module's error: the recorded one when there is one, else the
    // result's; and their energy-weighted total (the result's norms weigh the modules). Need a
    // result.
    double shownError(int index) const;
    double shownTotal() const;
    // The whole-adapter baselines' errors for the current group settings; null until measured
    // (after the result, see BaselineJob) or while they are measured again for new settings.
    const BaselineErrors* rtn2Baseline() const;
    const BaselineErrors* binaryBaseline() const;
    // The last kernel validation, while it still describes the current result (an edit clears
    // it).
    const std::optional<lq::KernelValidationResult>& validation() const { return m_validation; }

    // Module `index`'s factors as stored, and B' = U S^(1/2), A' = S^(1/2) V^T (cached).
    lq::ModuleFactors factors(int index) const;
    const lq::ModuleReparam& reparam(int index);

    // What module `index` would become at split h (its current bit width, no refinement):
    // for the live display while the person drags. Not an edit.
    lq::ModuleResult preview(int index, int h);

    // Edits: for undo commands.
    void setSettings(const lq::QuantSettings& settings);
    void setModuleOverride(int index, std::optional<int> h, std::optional<int> bitsHigh);
    // Several modules' overrides at once (one entry of `h`, `bitsHigh` and `refine` per module),
    // recomputed together: a selection, a layer, every module of a kind.
    void setModuleOverrides(const std::vector<int>& modules,
                            const std::vector<std::optional<int>>& h,
                            const std::vector<std::optional<int>>& bitsHigh,
                            const std::vector<std::optional<lq::Refinement>>& refine);

    // Quantizes every module again in the background; with `validate`, then packs the result
    // and validates the CPU kernels on it.
    void quantize(bool validate = false);
    Job* activeJob() const { return m_job; }
    void cancelJob();
    // The job measuring the baselines, while one runs (after a result, when they are missing).
    Job* baselineJob() const { return m_baselineJob; }

    // The document's bit-budget curves and its error-against-bits sweep (children of the
    // document, made with it).
    BudgetCurves* budgetCurves() const { return m_budgetCurves; }
    ParetoSweep* paretoSweep() const { return m_paretoSweep; }

    // The most cached reparameterizations kept (least recently used go first).
    static constexpr std::size_t kReparamCacheSize = 64;

signals:
    void changed();
    void settingsChanged();
    // The override or the result of one module changed.
    void moduleChanged(int index);
    // The whole result was replaced, or its state changed.
    void resultChanged();
    void jobStarted(lq::gui::Job* job);
    // After every quantization job; `message` holds the reason of a failure.
    void jobFinished(lq::gui::Job::Outcome outcome, const QString& message);
    // The baselines were measured (they are null until then), or their measuring failed.
    void baselinesChanged();
    void baselinesFailed(const QString& message);

private:
    void recompute(std::vector<int> modules, bool validate = false); // empty = all
    void startJob(std::vector<int> modules, bool validate);
    void onJobFinished(QuantizeJob* job, Job::Outcome outcome);
    // Starts a BaselineJob unless the baselines match the settings or one is measuring them.
    void measureBaselines();
    void onBaselinesFinished(BaselineJob* job, Job::Outcome outcome);
    lq::QuantResult& mutableResult();

    std::shared_ptr<const lq::Adapter> m_adapter;
    std::vector<std::vector<double>> m_singularValues;
    std::vector<int> m_displayOrder;
    lq::QuantSettings m_settings;
    std::shared_ptr<lq::QuantResult> m_result;
    ResultState m_state = ResultState::Computing;
    std::optional<BaselineErrors> m_rtn2;
    std::optional<BaselineErrors> m_binary;
    std::optional<lq::KernelValidationResult> m_validation;
    std::optional<PackedOrigin> m_packed;
    QUndoStack* m_undoStack = nullptr;
    QuantizeJob* m_job = nullptr;
    BaselineJob* m_baselineJob = nullptr;
    BudgetCurves* m_budgetCurves = nullptr;
    ParetoSweep* m_paretoSweep = nullptr;
    std::list<std::pair<int, lq::ModuleReparam>> m_reparams; // most recently used first
};

} // namespace lq::gui
