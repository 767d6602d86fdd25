#pragma once

#include <QString>

class QWidget;

namespace lq::gui {

// Where the window asks the person for paths. The workbench uses DialogFileChooser; tests put in
// one that answers with paths they chose, so that every menu action runs as a person would run
// it, without a dialog. An empty string means the person cancelled.
class FileChooser
{
public:
    virtual ~FileChooser() = default;

    // An adapter to open: a .safetensors file, an adapter_config.json, or a folder.
    virtual QString adapterToOpen(QWidget* parent, const QString& startFolder) = 0;
    // A folder holding an adapter.
    virtual QString adapterFolderToOpen(QWidget* parent, const QString& startFolder) = 0;
    // A batch output folder (holding batch-summary*.jsonl).
    virtual QString batchResultsToOpen(QWidget* parent, const QString& startFolder) = 0;
    // A file holding a quantization plan: a packed adapter or a JSON report.
    virtual QString planToOpen(QWidget* parent, const QString& startFolder) = 0;
    // A file to write; `filter` as QFileDialog takes it, e.g. "JSON report (*.json)".
    virtual QString fileToSave(QWidget* parent, const QString& caption, const QString& suggested,
                               const QString& filter) = 0;
    // A folder to write into (created when missing).
    virtual QString folderToSave(QWidget* parent, const QString& caption,
                                 const QString& suggested) = 0;
};

class DialogFileChooser : public FileChooser
{
public:
    QString adapterToOpen(QWidget* parent, const QString& startFolder) override;
    QString adapterFolderToOpen(QWidget* parent, const QString& startFolder) override;
    QString batchResultsToOpen(QWidget* parent, const QString& startFolder) override;
    QString planToOpen(QWidget* parent, const QString& startFolder) override;
    QString fileToSave(QWidget* parent, const QString& caption, const QString& suggested,
                       const QString& filter) override;
    QString folderToSave(QWidget* parent, const QString& caption,
                         const QString& suggested) override;
};

} // namespace lq::gui
