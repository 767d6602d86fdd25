#include "appsettings.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace lq::gui {

namespace {

const QString kRecent = QStringLiteral("recentFiles");
const QString kLastFolder = QStringLiteral("lastFolder");
const QString kLastExportFolder = QStringLiteral("lastExportFolder");
const QString kGeometry = QStringLiteral("window/geometry");
const QString kState = QStringLiteral("window/state");

} // namespace

AppSettings::AppSettings(QSettings* settings) : m_settings(settings) {}

QStringList AppSettings::recentFiles() const
{
    return m_settings->value(kRecent).toStringList();
}

void AppSettings::addRecentFile(const QString& path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QStringList files = recentFiles();
    files.removeAll(absolute);
    files.prepend(absolute);
    while (files.size() > kMaxRecentFiles)
        files.removeLast();
    m_settings->setValue(kRecent, files);
}

void AppSettings::removeRecentFile(const QString& path)
{
    QStringList files = recentFiles();
    files.removeAll(QFileInfo(path).absoluteFilePath());
    m_settings->setValue(kRecent, files);
}

QString AppSettings::lastFolder() const
{
    const QString folder = m_settings->value(kLastFolder).toString();
    return QFileInfo(folder).isDir() ? folder : QDir::homePath();
}

void AppSettings::setLastFolder(const QString& folder)
{
    m_settings->setValue(kLastFolder, folder);
}

QString AppSettings::lastExportFolder() const
{
    const QString folder = m_settings->value(kLastExportFolder).toString();
    return !folder.isEmpty() && QFileInfo(folder).isDir() ? folder : QString();
}

void AppSettings::setLastExportFolder(const QString& folder)
{
    m_settings->setValue(kLastExportFolder, folder);
}

QByteArray AppSettings::geometry() const
{
    return m_settings->value(kGeometry).toByteArray();
}

QByteArray AppSettings::windowState() const
{
    return m_settings->value(kState).toByteArray();
}

void AppSettings::setWindowLayout(const QByteArray& geometry, const QByteArray& state)
{
    m_settings->setValue(kGeometry, geometry);
    m_settings->setValue(kState, state);
}

lq::QuantSettings AppSettings::lastParameters() const
{
    lq::QuantSettings settings;
    // A first-time user gets refinement Best: without it LoRAQuant loses to plain whole-adapter
    // binarization on some real adapters (README, "Defaults"); the engine's and the CLI's default
    // stays the reference's (none).
    settings.refine = kFirstTimeRefinement;
    m_settings->beginGroup(QStringLiteral("parameters"));
    settings.rho = m_settings->value(QStringLiteral("rho"), settings.rho).toDouble();
    settings.bitsHigh = m_settings->value(QStringLiteral("bitsHigh"), settings.bitsHigh).toInt();
    settings.groupSize = m_settings->value(QStringLiteral("groupSize"), settings.groupSize).toInt();
    settings.fixedH = m_settings->value(QStringLiteral("fixedH"), settings.fixedH).toInt();
    if (auto rule = lq::splitRuleFromString(
            m_settings->value(QStringLiteral("split")).toString().toStdString()))
        settings.split = *rule;
    if (auto refine = lq::refinementFromString(
            m_settings->value(QStringLiteral("refine")).toString().toStdString()))
        settings.refine = *refine;
    m_settings->endGroup();
    // A damaged or hand-edited file must not stop the workbench from starting.
    try {
        settings.validate();
    } catch (const std::exception&) {
        settings = lq::QuantSettings{};
        settings.refine = kFirstTimeRefinement;
    }
    return settings;
}

void AppSettings::setLastParameters(const lq::QuantSettings& settings)
{
    m_settings->beginGroup(QStringLiteral("parameters"));
    m_settings->setValue(QStringLiteral("rho"), settings.rho);
    m_settings->setValue(QStringLiteral("bitsHigh"), settings.bitsHigh);
    m_settings->setValue(QStringLiteral("groupSize"), settings.groupSize);
    m_settings->setValue(QStringLiteral("fixedH"), settings.fixedH);
    m_settings->setValue(QStringLiteral("split"), QString::fromStdString(toString(settings.split)));
    m_settings->setValue(QStringLiteral("refine"),
                         QString::fromStdString(toString(settings.refine)));
    m_settings->endGroup();
}

} // namespace lq::gui
