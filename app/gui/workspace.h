#pragma once

#include "core/engine/quantsettings.h"

#include <QList>
#include <QObject>
#include <QString>

class QUndoGroup;

namespace lq::gui {

class AdapterDocument;
class Job;
class LoadJob;

// The open adapters. Opening runs a LoadJob in the background; a document appears when it has
// loaded, and starts quantizing with the given settings at once. One document is current: its
// undo stack is the active one of undoGroup().
class Workspace : public QObject
{
    Q_OBJECT

public:
    explicit Workspace(QObject* parent = nullptr);
    ~Workspace() override;

    const QList<AdapterDocument*>& documents() const { return m_documents; }
    AdapterDocument* current() const { return m_current; }
    void setCurrent(AdapterDocument* document);
    AdapterDocument* find(const QString& path) const;
    QUndoGroup* undoGroup() const { return m_undoGroup; }

    // Opens the adapter at `path` (a PEFT folder, a .safetensors file, an adapter_config.json,
    // meaning its folder, or a packed .lqa.h5 file, shown dequantized with its stored settings).
    // An adapter already open becomes current instead.
    void open(const QString& path, const lq::QuantSettings& settings);
    void close(AdapterDocument* document);
    bool isLoading() const { return !m_loading.isEmpty(); }
    // Cancels what is being opened.
    void cancelLoading();

    // The path open() reads for `path`: the folder of an adapter_config.json, else `path`.
    static QString adapterPath(const QString& path);

signals:
    void loadStarted(lq::gui::Job* job);
    void documentOpened(lq::gui::AdapterDocument* document);
    void openFailed(const QString& path, const QString& message);
    void documentAboutToClose(lq::gui::AdapterDocument* document);
    void currentChanged(lq::gui::AdapterDocument* document);

private:
    QList<AdapterDocument*> m_documents;
    QList<LoadJob*> m_loading;
    AdapterDocument* m_current = nullptr;
    QUndoGroup* m_undoGroup = nullptr;
};

} // namespace lq::gui
