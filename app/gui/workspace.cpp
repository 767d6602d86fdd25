#include "workspace.h"

#include "adapterdocument.h"
#include "loadjob.h"

#include <QFileInfo>
#include <QUndoGroup>

namespace lq::gui {

Workspace::Workspace(QObject* parent) : QObject(parent), m_undoGroup(new QUndoGroup(this)) {}

Workspace::~Workspace()
{
    // Documents and load jobs are children; their destructors cancel and join their jobs.
    for (LoadJob* job : m_loading)
        job->cancel();
}

QString Workspace::adapterPath(const QString& path)
{
    const QFileInfo info(path);
    if (info.isFile() && info.fileName() == QLatin1String("adapter_config.json"))
        return info.absolutePath();
    return path;
}

AdapterDocument* Workspace::find(const QString& path) const
{
    const QString wanted = QFileInfo(adapterPath(path)).absoluteFilePath();
    for (AdapterDocument* document : m_documents)
        if (QFileInfo(document->path()).absoluteFilePath() == wanted)
            return document;
    return nullptr;
}

void Workspace::setCurrent(AdapterDocument* document)
{
    if (document == m_current)
        return;
    m_current = document;
    m_undoGroup->setActiveStack(document ? document->undoStack() : nullptr);
    emit currentChanged(document);
}

void Workspace::open(const QString& path, const lq::QuantSettings& settings)
{
    if (AdapterDocument* open = find(path)) {
        setCurrent(open);
        return;
    }
    auto* job = new LoadJob(adapterPath(path), this);
    m_loading.append(job);
    connect(job, &Job::finished, this, [this, job, settings](Job::Outcome outcome) {
        m_loading.removeOne(job);
        job->deleteLater();
        if (outcome == Job::Outcome::Failed) {
            emit openFailed(job->path(), job->errorMessage());
            return;
        }
        if (outcome == Job::Outcome::Cancelled)
            return;
        if (AdapterDocument* open = find(job->path())) { // opened twice at once
            setCurrent(open);
            return;
        }
        auto* document = new AdapterDocument(job->adapter(), job->takeSpectra(), settings, this,
                                             job->packedOrigin());
        m_documents.append(document);
        m_undoGroup->addStack(document->undoStack());
        document->quantize();
        emit documentOpened(document);
        setCurrent(document);
    });
    job->start();
    emit loadStarted(job);
}

void Workspace::cancelLoading()
{
    for (LoadJob* job : m_loading)
        job->cancel();
}

void Workspace::close(AdapterDocument* document)
{
    const qsizetype index = m_documents.indexOf(document);
    if (index < 0)
        return;
    emit documentAboutToClose(document);
    m_documents.removeAt(index);
    if (m_current == document)
        setCurrent(m_documents.isEmpty() ? nullptr
                                         : m_documents.at(std::min(index, m_documents.size() - 1)));
    m_undoGroup->removeStack(document->undoStack());
    delete document; // cancels and joins its job
}

} // namespace lq::gui
