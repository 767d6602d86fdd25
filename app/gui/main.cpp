// loraquant-workbench: argument parsing only; the window and everything it does live in lq_app.
#include "core/engine/allocatorsettings.h"
#include "exampleadapter.h"
#include "mainwindow.h"
#include "screenshotter.h"
#include "startupprobe.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QSettings>
#include <QTemporaryDir>
#include <cstdio>
#include <memory>

int main(int argc, char** argv)
{
    QElapsedTimer sinceStart;
    sinceStart.start();
    lq::keepFreedBlocksForReuse();
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("LoRAQuant"));
    QApplication::setApplicationName(QStringLiteral("Workbench"));
    QApplication::setApplicationDisplayName(QStringLiteral("LoRAQuant Workbench"));
    QApplication::setApplicationVersion(QStringLiteral(LQ_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Compress LoRA adapters to ultra-low bit widths, looking at what you do."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QStringLiteral("Open the adapter, write a PNG of each view (1280x800) into DIR, exit."),
        QStringLiteral("DIR"));
    const QCommandLineOption startupTime(
        QStringLiteral("startup-time"),
        QStringLiteral("Print the time from start to a painted window with the adapter, exit."));
    parser.addOption(screenshot);
    parser.addOption(startupTime);
    parser.addPositionalArgument(QStringLiteral("paths"),
                                 QStringLiteral("Adapters to open (PEFT folders, .safetensors "
                                                "files or packed .lqa.h5 files); the bundled "
                                                "example when none."),
                                 QStringLiteral("[paths...]"));
    parser.process(app);

    QStringList paths = parser.positionalArguments();
    if (paths.isEmpty()) {
        const QString example = lq::gui::exampleAdapterPath();
        if (!example.isEmpty())
            paths.append(example);
    }

    // The scripted modes must neither read nor change the person's settings.
    const bool scripted = parser.isSet(screenshot) || parser.isSet(startupTime);
    QTemporaryDir scratch;
    std::unique_ptr<QSettings> settings =
        scripted ? std::make_unique<QSettings>(scratch.filePath(QStringLiteral("settings.ini")),
                                               QSettings::IniFormat)
                 : std::make_unique<QSettings>();

    lq::gui::MainWindow window(settings.get());
    int exitCode = 0;
    const auto finish = [&](int code) {
        exitCode = code;
        QCoreApplication::exit(code);
    };
    std::unique_ptr<QObject> script;
    if (parser.isSet(screenshot)) {
        const QString folder = parser.value(screenshot);
        if (!QDir().mkpath(folder)) {
            std::fprintf(stderr, "loraquant-workbench: cannot create %s\n", qPrintable(folder));
            return 1;
        }
        if (paths.isEmpty()) {
            std::fprintf(stderr, "loraquant-workbench: no adapter given and no example found\n");
            return 1;
        }
        auto* shooter = new lq::gui::Screenshotter(&window, folder);
        QObject::connect(shooter, &lq::gui::Screenshotter::done, finish);
        script.reset(shooter);
        window.resize(1280, 800);
    } else if (parser.isSet(startupTime)) {
        auto* probe = new lq::gui::StartupProbe(&window, sinceStart);
        QObject::connect(probe, &lq::gui::StartupProbe::done, finish);
        script.reset(probe);
    }
    window.show();
    for (const QString& path : paths)
        window.openPath(path);
    const int code = app.exec();
    return scripted ? exitCode : code;
}
