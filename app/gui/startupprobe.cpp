#include "startupprobe.h"

#include "adapterdocument.h"
#include "documentpresenter.h"
#include "mainwindow.h"
#include "spectrumview.h"
#include "widgets/spectrumplot.h"
#include "workspace.h"

#include <QEvent>
#include <QTimer>
#include <cstdio>

namespace lq::gui {

StartupProbe::StartupProbe(MainWindow* window, QElapsedTimer sinceStart, QObject* parent)
    : QObject(parent), m_window(window), m_sinceStart(sinceStart)
{
    window->presenter()->spectrumView()->plot()->canvas()->installEventFilter(this);
}

bool StartupProbe::eventFilter(QObject* watched, QEvent* event)
{
    if (event->type() == QEvent::Paint && !m_reported) {
        const AdapterDocument* document = m_window->workspace()->current();
        if (document && document->resultState() == AdapterDocument::ResultState::Current &&
            m_window->presenter()->spectrumView()->plot()->rank() > 0) {
            m_reported = true;
            // Report once this paint event has been handled, i.e. the frame is painted.
            QTimer::singleShot(0, this, [this] {
                std::printf("startup: painted after %lld ms (since main())\n",
                            static_cast<long long>(m_sinceStart.elapsed()));
                std::fflush(stdout);
                emit done(0);
            });
        }
    }
    return QObject::eventFilter(watched, event);
}

} // namespace lq::gui
