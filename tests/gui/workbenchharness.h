#pragma once

// What the workbench tests share: a window driven offscreen with its file dialogs answered by the
// test and its error dialogs recorded, ways to wait for its background work, and the adapters
// the tests open besides the bundled example and the shared ones.
#include "adapterdocument.h"
#include "adaptertree.h"
#include "adaptertreemodel.h"
#include "core/io/safetensors.h"
#include "core/io/synthesizer.h"
#include "documentpresenter.h"
#include "errorreporter.h"
#include "errorview.h"
#include "exampleadapter.h"
#include "exportcontroller.h"
#include "filechooser.h"
#include "mainwindow.h"
#include "sessioncontroller.h"
#include "shareddata.h"
#include "spectrumview.h"
#include "statuspanel.h"
#include "windowactions.h"
#include "workspace.h"

#include <QAction>
#include <QDir>
#include <QFile>
#include <QFont>
#include <QLabel>
#include <QMessageBox>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lqtest {

using lq::gui::AdapterDocument;
using lq::gui::AdapterTreeModel;
using lq::gui::MainWindow;
using lq::gui::Workspace;

// Generous bounds for background work on a loaded 2-core machine; a hang fails instead of
// blocking the suite. Not performance checks (those are in tests/benchmarks).
inline constexpr int kJobTimeoutMs = 120000;

// Answers the window's questions with paths the test chose.
class TestChooser : public lq::gui::FileChooser
{
public:
    QString next;
    QString suggested; // what the last save dialog would have started from
    QString adapterToOpen(QWidget*, const QString&) override { return take(); }
    QString adapterFolderToOpen(QWidget*, const QString&) override { return take(); }
    QString batchResultsToOpen(QWidget*, const QString&) override { return take(); }
    QString planToOpen(QWidget*, const QString&) override { return take(); }
    QString fileToSave(QWidget*, const QString&, const QString& suggestion, const QString&) override
    {
        suggested = suggestion;
        return take();
    }
    QString folderToSave(QWidget*, const QString&, const QString& suggestion) override
    {
        suggested = suggestion;
        return take();
    }

private:
    QString take() { return std::exchange(next, QString()); }
};

// Records what would have been shown, for tests that expect no error.
class RecordingReporter : public lq::gui::ErrorReporter
{
public:
    QStringList errors;
    QStringList notes;
    void error(QWidget*, const QString& title, const QString& message) override
    {
        errors << title + QStringLiteral(": ") + message;
    }
    void information(QWidget*, const QString& title, const QString& message) override
    {
        notes << title + QStringLiteral(": ") + message;
    }
};

// One window with its own settings file, shown at the size the issue asks it to work at.
struct Bench
{
    // With `settingsFile`, the window keeps its settings there (two windows in turn share them).
    explicit Bench(bool realDialogs = false, const QString& settingsFile = QString())
        : settings(settingsFile.isEmpty() ? dir.filePath(QStringLiteral("settings.ini"))
                                          : settingsFile,
                   QSettings::IniFormat)
    {
        // The tests of editing, exports and jobs run with the reference's refinement (none):
        // edits of one module are then synchronous and the figures are the CLI's defaults. A
        // first-time user gets refinement Best (appsettings.h); tests of that remove this key.
        const QString refine = QStringLiteral("parameters/refine");
        if (!settings.contains(refine))
            settings.setValue(refine, QStringLiteral("none"));
        auto testChooser = std::make_unique<TestChooser>();
        chooser = testChooser.get();
        window.setFileChooser(std::move(testChooser));
        if (!realDialogs) {
            auto recording = std::make_unique<RecordingReporter>();
            reporter = recording.get();
            window.setErrorReporter(std::move(recording));
        }
        // Closing with unsaved choices would ask; tests that look at the question set their own.
        window.sessions()->setUnsavedAsker([](const QString&) { return QMessageBox::Discard; });
        window.resize(1280, 800);
        window.show();
    }

    QTemporaryDir dir;
    QSettings settings;
    MainWindow window{&settings};
    TestChooser* chooser = nullptr;
    RecordingReporter* reporter = nullptr; // null with real dialogs
};

inline bool waitCurrent(AdapterDocument* document)
{
    return QTest::qWaitFor(
        [&] { return document->resultState() == AdapterDocument::ResultState::Current; },
        kJobTimeoutMs);
}

// The result current and the baselines measured after it: nothing left running.
inline bool waitIdle(AdapterDocument* document)
{
    return waitCurrent(document) &&
           QTest::qWaitFor([&] { return !document->baselineJob(); }, kJobTimeoutMs) &&
           document->resultState() == AdapterDocument::ResultState::Current;
}

// File > Open Adapter… with the dialog answered by `path`; the document once quantized.
inline AdapterDocument* openThroughMenu(Bench& bench, const QString& path)
{
    bench.chooser->next = path;
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    bench.window.actions()->open()->trigger();
    if (!opened.wait(kJobTimeoutMs))
        return nullptr;
    auto* document = qvariant_cast<AdapterDocument*>(opened.at(0).at(0));
    return waitIdle(document) ? document : nullptr;
}

// A label's text as a person reads it.
inline QString plainText(const QLabel* label)
{
    QString text = label->text();
    text.remove(QRegularExpression(QStringLiteral("<[^>]*>")));
    return text.replace(QStringLiteral("&nbsp;"), QStringLiteral(" "));
}

// The tree view's row for a row of the tree model (the view shows it sorted and filtered).
inline QModelIndex shownRow(Bench& bench, const QModelIndex& modelIndex)
{
    return bench.window.presenter()->adapterTree()->toView(modelIndex);
}

inline QString treeText(Bench& bench, AdapterDocument* document, int module, int column)
{
    return bench.window.presenter()
        ->treeModel()
        ->indexOf(document, module, column)
        .data()
        .toString();
}

// Whether the tree shows module's h in bold ("set by hand").
inline bool hShownBold(Bench& bench, AdapterDocument* document, int module)
{
    const QVariant font = bench.window.presenter()
                              ->treeModel()
                              ->indexOf(document, module, AdapterTreeModel::HColumn)
                              .data(Qt::FontRole);
    return font.isValid() && font.value<QFont>().bold();
}

// Test data rows: the bundled example (always there) and the shared adapters (when present).
inline void addAdapterRows(int minimumRank)
{
    QTest::addColumn<QString>("path");
    QTest::newRow("example") << lq::gui::exampleAdapterPath();
    for (const QString& name : lqtest::sharedAdapterNames()) {
        // Folder names end in -r<rank>-<dtype>; rank 1 cannot be split.
        const auto match = QRegularExpression(QStringLiteral("-r(\\d+)-")).match(name);
        if (match.hasMatch() && match.captured(1).toInt() >= minimumRank)
            QTest::newRow(qPrintable(name)) << lqtest::adaptersDir() + QLatin1Char('/') + name;
    }
}

// A copy of the adapter in `folder` written into `into` with one more tensor that is not a LoRA
// factor (a classifier head kept by modules_to_save) and one more metadata key; its config is

// An adapter as PEFT writes it, tensor names sorted as text: q_proj LoRAs (16 x 16, rank 2) on
// 12 layers, so "layers.10" and "layers.11" come before "layers.2", and one module outside any
// layer (lm_head).
inline void writeTextSortedAdapter(const QString& folder)
{
    std::vector<lq::TensorData> tensors;
    const auto addFactor = [&](const std::string& prefix, const char* which,
                               std::vector<std::int64_t> shape, int seed) {
        lq::TensorData tensor{prefix + ".lora_" + which + ".weight", lq::DType::F32, shape, {}};
        std::vector<float> values(std::size_t(shape[0] * shape[1]));
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i] = float(std::sin(double(seed * 131 + int(i)) * 0.77));
        const auto* raw = reinterpret_cast<const std::byte*>(values.data());
        tensor.bytes.assign(raw, raw + values.size() * sizeof(float));
        tensors.push_back(std::move(tensor));
    };
    const auto addModule = [&](const std::string& prefix, int seed) {
        addFactor(prefix, "A", {2, 16}, 2 * seed);
        addFactor(prefix, "B", {16, 2}, 2 * seed + 1);
    };
    for (int layer = 0; layer < 12; ++layer)
        addModule("base_model.model.model.layers." + std::to_string(layer) + ".self_attn.q_proj",
                  layer);
    addModule("base_model.model.lm_head", 12);
    std::sort(tensors.begin(), tensors.end(),
              [](const lq::TensorData& x, const lq::TensorData& y) { return x.name < y.name; });
    QDir().mkpath(folder);
    lq::writeSafetensors((folder + QStringLiteral("/adapter_model.safetensors")).toStdString(),
                         tensors, {});
    QFile config(folder + QStringLiteral("/adapter_config.json"));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write(R"({"peft_type": "LORA", "r": 2, "lora_alpha": 4,
                     "target_modules": ["q_proj", "lm_head"]})");
}

// 64 modules of 4096 x 4096 at rank 16 (llama2-7b's q and v projections) written into `folder`:
// with the paper refinement a whole-adapter job takes seconds, so a cancel lands mid-way.
inline QString writeLargeAdapter(const QString& folder)
{
    lq::SynthSettings synth;
    synth.preset = "llama2-7b";
    synth.rank = 16;
    synth.targets = lq::SynthTargets::QV;
    synth.seed = 5;
    lq::writeSyntheticAdapter(folder.toStdString(), synth);
    return folder;
}

} // namespace lqtest
