#include "session.h"

#include "adapterdocument.h"
#include "core/engine/report.h"
#include "core/io/atomicfile.h"
#include "core/io/error.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace lq::gui {

namespace {

const QString kFormat = QStringLiteral("loraquant-workbench-session");
constexpr int kVersion = 1;

[[noreturn]] void fail(const QString& file, const QString& problem)
{
    throw lq::Error(file.toStdString(), problem.toStdString());
}

QJsonArray toArray(const QStringList& list)
{
    return QJsonArray::fromStringList(list);
}

QStringList names(const QJsonValue& value, const QString& file, const QString& what)
{
    if (value.isUndefined())
        return {};
    if (!value.isArray())
        fail(file, QStringLiteral("'%1' must be a list of module names").arg(what));
    QStringList list;
    for (const QJsonValue& item : value.toArray()) {
        if (!item.isString())
            fail(file, QStringLiteral("'%1' must be a list of module names").arg(what));
        list << item.toString();
    }
    return list;
}

} // namespace

SessionAdapter SessionAdapter::of(const AdapterDocument& document)
{
    SessionAdapter entry;
    entry.path = document.path();
    entry.plan.settings = document.settings();
    entry.plan.settings.hOverride.clear();
    entry.plan.settings.bitsHighOverride.clear();
    entry.plan.settings.refineOverride.clear();
    for (int i = 0; i < document.moduleCount(); ++i) {
        const lq::LoraModule& m = document.module(i);
        entry.plan.modules.push_back(
            {m.name, m.r, document.effectiveH(i), document.effectiveBitsHigh(i)});
        if (document.hOverride(i))
            entry.hByHand << QString::fromStdString(m.name);
        if (document.bitsHighOverride(i))
            entry.bitsByHand << QString::fromStdString(m.name);
        if (const auto refine = document.refineOverride(i))
            entry.refineByHand.insert(QString::fromStdString(m.name),
                                      QString::fromStdString(lq::toString(*refine)));
    }
    return entry;
}

lq::QuantSettings SessionAdapter::settingsFor(const lq::Adapter& adapter) const
{
    // Checks that every module is there with its rank, as Apply Plan does.
    const lq::QuantSettings all = plan.settingsFor(adapter);
    lq::QuantSettings settings = plan.settings;
    for (const QString& name : hByHand)
        if (const auto found = all.hOverride.find(name.toStdString()); found != all.hOverride.end())
            settings.hOverride.insert(*found);
    for (const QString& name : bitsByHand)
        if (const auto found = all.bitsHighOverride.find(name.toStdString());
            found != all.bitsHighOverride.end())
            settings.bitsHighOverride.insert(*found);
    for (auto it = refineByHand.begin(); it != refineByHand.end(); ++it) {
        const std::optional<lq::Refinement> refine =
            lq::refinementFromString(it.value().toStdString());
        if (!refine)
            fail(QString::fromStdString(plan.file),
                 QStringLiteral("refinement '%1' of %2 is none of none, paper, best")
                     .arg(it.value(), it.key()));
        if (all.hOverride.count(it.key().toStdString())) // a module of the adapter
            settings.refineOverride[it.key().toStdString()] = *refine;
    }
    return settings;
}

QByteArray Session::toJson() const
{
    QJsonArray list;
    for (const SessionAdapter& adapter : adapters) {
        // The plan in the report format (report.h), so that quantplan.h reads it back.
        lq::QuantResult result;
        result.method = "loraquant";
        result.adapter = adapter.path.toStdString();
        result.settings = adapter.plan.settings;
        for (const lq::PlannedModule& planned : adapter.plan.modules) {
            lq::ModuleResult module;
            module.name = planned.name;
            module.r = planned.r;
            module.h = planned.h;
            module.bitsHigh = planned.bitsHigh;
            result.modules.push_back(std::move(module));
        }
        const QJsonDocument plan =
            QJsonDocument::fromJson(QByteArray::fromStdString(lq::reportJson(result)));
        QJsonObject item;
        item[QStringLiteral("path")] = adapter.path;
        QJsonObject planObject = plan.object();
        // Only what a plan holds: the figures of this stand-in result mean nothing.
        QJsonObject kept;
        for (const char* key : {"tool", "method", "adapter", "settings", "modules"})
            kept[QLatin1String(key)] = planObject.value(QLatin1String(key));
        QJsonArray modules;
        for (const QJsonValue& module : kept[QStringLiteral("modules")].toArray()) {
            const QJsonObject full = module.toObject();
            modules.append(
                QJsonObject{{QStringLiteral("name"), full[QStringLiteral("name")]},
                            {QStringLiteral("r"), full[QStringLiteral("r")]},
                            {QStringLiteral("h"), full[QStringLiteral("h")]},
                            {QStringLiteral("bits_high"), full[QStringLiteral("bits_high")]}});
        }
        kept[QStringLiteral("modules")] = modules;
        item[QStringLiteral("plan")] = kept;
        item[QStringLiteral("h_by_hand")] = toArray(adapter.hByHand);
        item[QStringLiteral("bits_by_hand")] = toArray(adapter.bitsByHand);
        QJsonObject refine;
        for (auto it = adapter.refineByHand.begin(); it != adapter.refineByHand.end(); ++it)
            refine[it.key()] = it.value();
        item[QStringLiteral("refine_by_hand")] = refine;
        list.append(item);
    }
    QJsonObject root;
    root[QStringLiteral("format")] = kFormat;
    root[QStringLiteral("version")] = kVersion;
    root[QStringLiteral("current")] = current;
    root[QStringLiteral("view")] = view;
    root[QStringLiteral("error_grouping")] = errorGrouping;
    root[QStringLiteral("module")] = module;
    root[QStringLiteral("adapters")] = list;
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

Session Session::fromJson(const QByteArray& json, const QString& file)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (document.isNull())
        fail(file,
             QStringLiteral("not JSON: %1 at byte %2").arg(error.errorString()).arg(error.offset));
    const QJsonObject root = document.object();
    if (root.value(QStringLiteral("format")).toString() != kFormat)
        fail(file, QStringLiteral("not a LoRAQuant Workbench session (no \"format\": \"%1\")")
                       .arg(kFormat));
    if (root.value(QStringLiteral("version")).toInt() != kVersion)
        fail(file, QStringLiteral("session version %1; this workbench reads version %2")
                       .arg(root.value(QStringLiteral("version")).toInt())
                       .arg(kVersion));
    Session session;
    const QJsonValue adapters = root.value(QStringLiteral("adapters"));
    if (!adapters.isArray())
        fail(file, QStringLiteral("'adapters' must be a list"));
    for (const QJsonValue& value : adapters.toArray()) {
        const QJsonObject item = value.toObject();
        SessionAdapter adapter;
        adapter.path = item.value(QStringLiteral("path")).toString();
        if (adapter.path.isEmpty())
            fail(file, QStringLiteral("an adapter without a 'path'"));
        const QByteArray plan =
            QJsonDocument(item.value(QStringLiteral("plan")).toObject()).toJson();
        adapter.plan = lq::parseReportPlan(plan.toStdString(), file.toStdString());
        adapter.hByHand =
            names(item.value(QStringLiteral("h_by_hand")), file, QStringLiteral("h_by_hand"));
        adapter.bitsByHand =
            names(item.value(QStringLiteral("bits_by_hand")), file, QStringLiteral("bits_by_hand"));
        const QJsonValue refine = item.value(QStringLiteral("refine_by_hand"));
        if (!refine.isUndefined() && !refine.isObject())
            fail(file, QStringLiteral("'refine_by_hand' must map module names to refinements"));
        const QJsonObject refineObject = refine.toObject();
        for (auto it = refineObject.begin(); it != refineObject.end(); ++it)
            adapter.refineByHand.insert(it.key(), it.value().toString());
        session.adapters.push_back(std::move(adapter));
    }
    session.current = root.value(QStringLiteral("current")).toInt(-1);
    if (session.current >= int(session.adapters.size()))
        session.current = -1;
    session.view = root.value(QStringLiteral("view")).toString(session.view);
    session.errorGrouping =
        root.value(QStringLiteral("error_grouping")).toString(session.errorGrouping);
    session.module = root.value(QStringLiteral("module")).toString();
    return session;
}

void Session::write(const QString& path) const
{
    lq::writeFileAtomically(path.toStdString(), toJson().toStdString());
}

Session Session::read(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        fail(path, QStringLiteral("cannot read it: %1").arg(file.errorString()));
    return fromJson(file.readAll(), path);
}

} // namespace lq::gui
