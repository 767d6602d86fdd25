#pragma once

#include "core/engine/quantresult.h"
#include "core/io/adapter.h"
#include "job.h"

#include <memory>

namespace lq::gui {

// Writes what the workbench exports, off the UI thread:
//   PeftAdapter   the dequantized adapter (B_hat, A_hat in the input's dtype, same keys, config
//                 and non-LoRA tensors) as a PEFT folder, as `loraquant quantize --export-peft`;
//   Report        JSON or CSV by the file's extension, the CLI's report (core/engine/report.h);
//   Packed        the packed .lqa.h5 adapter (core/packed/packedfile.h), as
//                 `loraquant quantize --export-packed`.
// When no current result is given the job quantizes first (cancellable between modules); the
// output is only written once everything is computed, and every writer writes a temporary file
// and renames it, so a cancelled or failed export leaves nothing behind. Refuses to write over
// the input adapter's files.
class ExportJob : public Job
{
    Q_OBJECT

public:
    enum class Kind
    {
        PeftAdapter,
        Report,
        Packed
    };

    struct Input
    {
        Kind kind = Kind::Report;
        QString path; // folder for PeftAdapter, file otherwise
        std::shared_ptr<const lq::Adapter> adapter;
        lq::QuantSettings settings;
        // The document's current result, or null to quantize with `settings` first.
        std::shared_ptr<const lq::QuantResult> result;
    };

    explicit ExportJob(Input input, QObject* parent = nullptr);

    Kind kind() const { return m_kind; }
    const QString& path() const { return m_path; }

    static QString kindName(Kind kind);

private:
    Kind m_kind;
    QString m_path;
};

} // namespace lq::gui
