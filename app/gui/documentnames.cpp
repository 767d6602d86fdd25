#include "documentnames.h"

#include "adapterdocument.h"

#include <QDir>
#include <QFileInfo>

namespace lq::gui {

namespace {

// displayName() under `levels` of the folders above the adapter's own place.
QString withParents(const AdapterDocument* document, int levels)
{
    const QFileInfo info(document->path());
    // A folder adapter's name is the folder; a file's is "folder/file": start above either.
    QDir dir = info.isDir() ? QDir(info.absoluteFilePath()) : info.absoluteDir();
    QStringList parents;
    for (int level = 0; level < levels && dir.cdUp(); ++level)
        parents.prepend(dir.dirName().isEmpty() ? dir.absolutePath() : dir.dirName());
    parents.append(document->displayName());
    return parents.join(QLatin1Char('/'));
}

} // namespace

QString distinctName(const AdapterDocument* document, const QList<AdapterDocument*>& open)
{
    QList<const AdapterDocument*> twins;
    for (const AdapterDocument* other : open)
        if (other != document && other->displayName() == document->displayName())
            twins.append(other);
    if (twins.isEmpty())
        return document->displayName();
    constexpr int kMaxLevels = 8; // deeper twins than this read by their tooltip's path
    for (int levels = 1; levels <= kMaxLevels; ++levels) {
        const QString name = withParents(document, levels);
        bool unique = true;
        for (const AdapterDocument* twin : twins)
            unique = unique && withParents(twin, levels) != name;
        if (unique)
            return name;
    }
    return withParents(document, kMaxLevels);
}

} // namespace lq::gui
