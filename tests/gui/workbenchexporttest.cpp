// The File menu's exports, each through its action with a path the test gives instead of a file
// dialog: the dequantized PEFT adapter, the packed .lqa.h5, the report and the plot, read back
// and compared with the result on screen; an unwritable path gives an error and changes nothing.
#include "core/engine/adapterquantizer.h"
#include "core/packed/packedfile.h"
#include "setmodulesplitcommand.h"
#include "tests/io/filesnapshot.h"
#include "widgets/errorbarplot.h"
#include "workbenchharness.h"

#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageBox>
#include <QSvgRenderer>
#include <QUndoStack>

using namespace lqtest;

namespace {

// Factors written as F16 come back rounded to half precision: relative rounding 2^-11 per value,
// measured against the matrix's largest |value| (small values lose relatively more).
constexpr double kHalfRounding = 1.0 / 2048;

} // namespace

class WorkbenchExportTest : public QObject
{
    Q_OBJECT

private slots:
    void exportsReadBack_data();
    void exportsReadBack();
    void exportPackedReadsBack_data();
    void exportPackedReadsBack();
    void unwritableExportShowsError();
};

void WorkbenchExportTest::exportsReadBack_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("what");
    const QStringList kinds = {"report.json", "report.csv", "peft",
                               "plot.png",    "plot.pdf",   "plot.svg"};
    for (const QString& kind : kinds) {
        QTest::addRow("example, %s", qPrintable(kind)) << lq::gui::exampleAdapterPath() << kind;
        if (lqtest::haveShared())
            QTest::addRow("qwen, %s", qPrintable(kind))
                << lqtest::adaptersDir() + QStringLiteral("/qwen2.5-3b-qv-r4-f32") << kind;
    }
}

void WorkbenchExportTest::exportsReadBack()
{
    QFETCH(QString, path);
    QFETCH(QString, what);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, path);
    QVERIFY(document);
    const lqtest::FileSnapshot input = lqtest::snapshot(document->path());
    QTemporaryDir out;
    const QString target = out.filePath(what);
    QSignalSpy exported(bench.window.exports(), &lq::gui::ExportController::exportFinished);
    bench.chooser->next = target;
    if (what.startsWith(QLatin1String("report")))
        bench.window.actions()->exportReport()->trigger();
    else if (what == QLatin1String("peft"))
        bench.window.actions()->exportPeft()->trigger();
    else {
        bench.window.showView(MainWindow::View::Error);
        bench.window.actions()->exportPlot()->trigger();
    }
    QVERIFY(exported.count() == 1 || exported.wait(kJobTimeoutMs));
    QVERIFY2(exported.at(0).at(0).toBool(), qPrintable(exported.at(0).at(1).toString()));
    const lq::QuantResult& result = document->result();

    if (what == QLatin1String("report.json")) {
        QFile file(target);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject report = QJsonDocument::fromJson(file.readAll()).object();
        QCOMPARE(report.value("modules").toArray().size(), document->moduleCount());
        QCOMPARE(report.value("avg_bits_paper").toDouble(), result.avgBitsPaper);
        QCOMPARE(report.value("rel_err_total").toDouble(), result.relErrTotal);
        const QJsonObject first = report.value("modules").toArray().at(0).toObject();
        QCOMPARE(first.value("h").toInt(), result.modules[0].h);
        QCOMPARE(first.value("name").toString(), document->moduleName(0));
    } else if (what == QLatin1String("report.csv")) {
        QFile file(target);
        QVERIFY(file.open(QIODevice::ReadOnly | QIODevice::Text));
        const QStringList lines =
            QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), document->moduleCount() + 2); // header, modules, totals
        QVERIFY(lines.at(1).contains(document->moduleName(0)));
        QVERIFY(lines.last().contains(QStringLiteral("(adapter)")));
    } else if (what == QLatin1String("peft")) {
        const lq::Adapter written = lq::Adapter::load(target.toStdString());
        QCOMPARE(written.modules().size(), result.modules.size());
        for (std::size_t i = 0; i < result.modules.size(); ++i) {
            const lq::ModuleFactors factors = written.factors(i);
            const Eigen::MatrixXf bhat = result.modules[i].dequantizedB();
            const Eigen::MatrixXf ahat = result.modules[i].dequantizedA();
            QCOMPARE(factors.B.rows(), bhat.rows());
            QCOMPARE(factors.A.cols(), ahat.cols());
            const bool half = written.modules()[i].dtype != lq::DType::F32;
            const double tolerance = half ? kHalfRounding : 0.0;
            QVERIFY((factors.B - bhat).cwiseAbs().maxCoeff() <=
                    tolerance * bhat.cwiseAbs().maxCoeff());
            QVERIFY((factors.A - ahat).cwiseAbs().maxCoeff() <=
                    tolerance * ahat.cwiseAbs().maxCoeff());
        }
    } else if (what == QLatin1String("plot.png")) {
        const QImage image(target);
        QCOMPARE(image.size(),
                 bench.window.presenter()->errorView()->errorPlot()->canvas()->size());
    } else if (what == QLatin1String("plot.pdf")) {
        QFile file(target);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.readAll().startsWith("%PDF-"));
    } else {
        QVERIFY(QSvgRenderer(target).isValid());
    }
    QCOMPARE(lqtest::snapshot(document->path()), input); // the input is never touched
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchExportTest::exportPackedReadsBack_data()
{
    addAdapterRows(1);
}

void WorkbenchExportTest::exportPackedReadsBack()
{
    QFETCH(QString, path);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, path);
    QVERIFY(document);
    // A split set by hand and a wider high part elsewhere, so that the file must keep per-module
    // h and b_h rather than one rule for all.
    const int last = document->moduleCount() - 1;
    document->undoStack()->push(new lq::gui::SetModuleSplitCommand(document, last, 0, 4));
    QVERIFY(waitCurrent(document));
    const lqtest::FileSnapshot input = lqtest::snapshot(document->path());

    QTemporaryDir out;
    // Without the extension: the action adds it.
    const QString target = out.filePath(QStringLiteral("exported.lqa.h5"));
    bench.chooser->next = out.filePath(QStringLiteral("exported"));
    QSignalSpy exported(bench.window.exports(), &lq::gui::ExportController::exportFinished);
    bench.window.actions()->exportPacked()->trigger();
    QVERIFY(exported.count() == 1 || exported.wait(kJobTimeoutMs));
    QVERIFY2(exported.at(0).at(0).toBool(), qPrintable(exported.at(0).at(1).toString()));
    QCOMPARE(QDir(out.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries),
             QStringList{QStringLiteral("exported.lqa.h5")}); // nothing temporary left

    const lq::PackedAdapter packed = lq::readPackedAdapter(target.toStdString());
    const lq::QuantResult& result = document->result();
    QCOMPARE(int(packed.modules.size()), document->moduleCount());
    for (int i = 0; i < document->moduleCount(); ++i) {
        const lq::PackedModule& module = packed.modules[std::size_t(i)];
        const lq::ModuleResult& shown = result.modules[std::size_t(i)];
        QCOMPARE(QString::fromStdString(module.name), document->moduleName(i));
        QCOMPARE(module.h, document->effectiveH(i));
        QCOMPARE(module.bitsHigh, document->effectiveBitsHigh(i));
        QCOMPARE(module.h, treeText(bench, document, i, AdapterTreeModel::HColumn).toInt());
        QCOMPARE(module.storedBits(), shown.bitsTrue);
        // The codes decode to exactly the factors the window computed.
        QVERIFY(lq::dequantizedB(module) == shown.dequantizedB());
        QVERIFY(lq::dequantizedA(module) == shown.dequantizedA());
    }
    QCOMPARE(packed.modules[std::size_t(last)].h, 0);
    QCOMPARE(packed.modules[std::size_t(last)].bitsHigh, 4);
    QCOMPARE(packed.avgBitsTrue(), result.avgBitsTrue);
    QCOMPARE(packed.relErrTotal, result.relErrTotal);
    QCOMPARE(packed.settings.groupSize, document->settings().groupSize);
    QCOMPARE(packed.settings.rho, document->settings().rho);
    QCOMPARE(lqtest::snapshot(document->path()), input);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchExportTest::unwritableExportShowsError()
{
    Bench bench(true);
    QVERIFY(openThroughMenu(bench, lq::gui::exampleAdapterPath()));
    // A folder below a regular file cannot exist, not even for root.
    QTemporaryDir out;
    QFile blocker(out.filePath(QStringLiteral("file")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    const QString target = out.filePath(QStringLiteral("file/report.json"));
    QSignalSpy exported(bench.window.exports(), &lq::gui::ExportController::exportFinished);
    bench.chooser->next = target;
    bench.window.actions()->exportReport()->trigger();
    QVERIFY(exported.wait(kJobTimeoutMs));
    QCOMPARE(exported.at(0).at(0).toBool(), false);
    auto* box = bench.window.findChild<QMessageBox*>();
    QVERIFY(box);
    QVERIFY(QTest::qWaitFor([&] { return box->isVisible(); }, 5000));
    QVERIFY2(box->text().contains(target), qPrintable(box->text()));
    QCOMPARE(QDir(out.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries),
             QStringList{QStringLiteral("file")});
    box->accept();
}

QTEST_MAIN(WorkbenchExportTest)
#include "workbenchexporttest.moc"
