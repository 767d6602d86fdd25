#include "fleetpresenter.h"

#include "fleetloadjob.h"
#include "fleetview.h"

#include <QFileInfo>
#include <QTabBar>
#include <QTabWidget>

namespace lq::gui {

FleetPresenter::FleetPresenter(QTabWidget* tabs, QObject* parent) : QObject(parent), m_tabs(tabs)
{
    connect(m_tabs, &QTabWidget::tabCloseRequested, this, [this](int index) {
        if (auto* view = qobject_cast<FleetView*>(m_tabs->widget(index)))
            close(view);
    });
}

bool FleetPresenter::openIfFleet(const QString& path)
{
    const std::optional<FleetDocument::Kind> kind = FleetDocument::kindOf(path);
    if (!kind)
        return false;
    open(*kind, path);
    return true;
}

void FleetPresenter::openBatchResults(const QString& path)
{
    if (!path.isEmpty())
        open(FleetDocument::Kind::BatchResults, path);
}

FleetView* FleetPresenter::currentView() const
{
    return qobject_cast<FleetView*>(m_tabs->currentWidget());
}

void FleetPresenter::open(FleetDocument::Kind kind, const QString& path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    for (FleetView* view : m_views)
        if (view->document()->kind() == kind &&
            QFileInfo(view->document()->path()).absoluteFilePath() == absolute) {
            m_tabs->setCurrentWidget(view);
            return;
        }

    auto* document = new FleetDocument(kind, absolute, this);
    auto* view = new FleetView(document, m_tabs);
    m_views.append(view);
    connect(view, &FleetView::openRequested, this, &FleetPresenter::openAdapterRequested);
    connect(document, &FleetDocument::loadStarted, this, &FleetPresenter::loadStarted);
    connect(document, &FleetDocument::loadFinished, this,
            [this, view, absolute](Job::Outcome outcome, const QString& message) {
                if (outcome != Job::Outcome::Failed)
                    return;
                close(view);
                emit openFailed(absolute, message);
            });
    const int index = m_tabs->addTab(view, document->title());
    m_tabs->setTabToolTip(index, absolute);
    // Only the fleet tabs close; the adapter views are the window's own.
    m_tabs->setTabsClosable(true);
    for (int i = 0; i < m_tabs->count(); ++i)
        if (!qobject_cast<FleetView*>(m_tabs->widget(i)))
            for (auto side : {QTabBar::LeftSide, QTabBar::RightSide})
                if (QWidget* button = m_tabs->tabBar()->tabButton(i, side)) {
                    m_tabs->tabBar()->setTabButton(i, side, nullptr);
                    button->deleteLater();
                }
    m_tabs->setCurrentWidget(view);
    document->load();
}

void FleetPresenter::close(FleetView* view)
{
    if (!m_views.removeOne(view))
        return;
    FleetDocument* document = view->document();
    m_tabs->removeTab(m_tabs->indexOf(view));
    // Later: this may run inside one of the document's own signals. Its job is cancelled and
    // joined when it goes.
    if (FleetLoadJob* job = document->job())
        job->cancel();
    view->deleteLater();
    document->deleteLater();
}

} // namespace lq::gui
