#include "filechooser.h"

#include <QFileDialog>

namespace lq::gui {

QString DialogFileChooser::adapterToOpen(QWidget* parent, const QString& startFolder)
{
    return QFileDialog::getOpenFileName(
        parent, QObject::tr("Open Adapter"), startFolder,
        QObject::tr("LoRA adapters (*.safetensors adapter_config.json *.lqa.h5);;Packed "
                    "LoRAQuant adapters (*.lqa.h5);;All files (*)"));
}

QString DialogFileChooser::adapterFolderToOpen(QWidget* parent, const QString& startFolder)
{
    return QFileDialog::getExistingDirectory(parent, QObject::tr("Open Adapter Folder"),
                                             startFolder);
}

QString DialogFileChooser::batchResultsToOpen(QWidget* parent, const QString& startFolder)
{
    return QFileDialog::getExistingDirectory(
        parent, QObject::tr("Open Batch Results (the output folder of loraquant batch)"),
        startFolder);
}

QString DialogFileChooser::planToOpen(QWidget* parent, const QString& startFolder)
{
    return QFileDialog::getOpenFileName(
        parent, QObject::tr("Apply Plan"), startFolder,
        QObject::tr("Quantized adapters and reports (*.lqa.h5 *.json);;All files (*)"));
}

QString DialogFileChooser::fileToSave(QWidget* parent, const QString& caption,
                                      const QString& suggested, const QString& filter)
{
    return QFileDialog::getSaveFileName(parent, caption, suggested, filter);
}

QString DialogFileChooser::folderToSave(QWidget* parent, const QString& caption,
                                        const QString& suggested)
{
    // A new folder is the usual answer: the save dialog lets the person type its name.
    return QFileDialog::getSaveFileName(parent, caption, suggested, QString(), nullptr,
                                        QFileDialog::ShowDirsOnly);
}

} // namespace lq::gui
