#pragma once

#include "core/engine/quantsettings.h"

#include <QByteArray>
#include <QStringList>

class QSettings;

namespace lq::gui {

// What the workbench remembers between runs, on top of a QSettings it is given (the user's
// settings in the application, a temporary file in tests): recent adapters, the last folder,
// window geometry and dock layout, and the last quantization parameters (without per-module
// overrides, which belong to one adapter).
class AppSettings
{
public:
    explicit AppSettings(QSettings* settings);

    QStringList recentFiles() const;
    void addRecentFile(const QString& path);
    void removeRecentFile(const QString& path);

    QString lastFolder() const;
    void setLastFolder(const QString& folder);
    // Where the last export went; empty before the first one (or when it is gone).
    QString lastExportFolder() const;
    void setLastExportFolder(const QString& folder);

    QByteArray geometry() const;
    QByteArray windowState() const;
    void setWindowLayout(const QByteArray& geometry, const QByteArray& state);

    lq::QuantSettings lastParameters() const;
    void setLastParameters(const lq::QuantSettings& settings);

    static constexpr int kMaxRecentFiles = 8;
    // The refinement of a first start (nothing stored yet).
    static constexpr lq::Refinement kFirstTimeRefinement = lq::Refinement::Best;

private:
    QSettings* m_settings;
};

} // namespace lq::gui
