#pragma once

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QMap>
#include <QString>

// What a file or folder looks like on disk: every file's SHA-256, size and modification time,
// and the list of names. Loading must leave it exactly as it was ("never a change to the input"),
// and no temporary file may be left behind.
namespace lqtest {

using FileSnapshot = QMap<QString, QString>; // relative path -> "sha256 size mtime"

inline QString describeFile(const QString& path)
{
    QFile file(path);
    QString hash = QStringLiteral("unreadable");
    if (file.open(QIODevice::ReadOnly)) {
        QCryptographicHash sha(QCryptographicHash::Sha256);
        sha.addData(&file);
        hash = QString::fromLatin1(sha.result().toHex());
    }
    const QFileInfo info(path);
    return hash + ' ' + QString::number(info.size()) + ' ' +
           QString::number(info.lastModified().toMSecsSinceEpoch());
}

inline FileSnapshot snapshot(const QString& path)
{
    FileSnapshot result;
    const QFileInfo info(path);
    if (!info.exists())
        return result;
    if (!info.isDir()) {
        result.insert(info.fileName(), describeFile(path));
        return result;
    }
    QDirIterator it(path, QDir::Files | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    const QDir root(path);
    while (it.hasNext()) {
        const QString file = it.next();
        result.insert(root.relativeFilePath(file), describeFile(file));
    }
    return result;
}

} // namespace lqtest
