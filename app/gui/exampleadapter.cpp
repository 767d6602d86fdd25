#include "exampleadapter.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace lq::gui {

QString exampleAdapterPath()
{
    const QStringList candidates = {
        QCoreApplication::applicationDirPath() +
            QStringLiteral("/../share/loraquant-workbench/example-adapter"),
        QStringLiteral(LQ_EXAMPLE_ADAPTER_SOURCE_DIR),
    };
    for (const QString& folder : candidates)
        if (QFileInfo::exists(folder + QStringLiteral("/adapter_model.safetensors")))
            return QDir::cleanPath(folder);
    return {};
}

} // namespace lq::gui
