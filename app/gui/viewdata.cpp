#include "viewdata.h"

#include "adapterdocument.h"

#include <QCoreApplication>
#include <QLocale>
#include <QStringList>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

namespace lq::gui {

namespace {

QString viewTr(const char* text)
{
    return QCoreApplication::translate("ViewData", text);
}

// In the unit that gives a small adapter digits of its own ("3.33 kB", not "0.00 MB").
QString byteSize(double bytes)
{
    if (bytes < 1e3)
        return QStringLiteral("%1 B").arg(std::lround(bytes));
    if (bytes < 1e6)
        return QStringLiteral("%1 kB").arg(bytes / 1e3, 0, 'f', bytes < 1e4 ? 2 : 1);
    return QStringLiteral("%1 MB").arg(bytes / 1e6, 0, 'f', bytes < 1e7 ? 2 : 1);
}

QString parameters(std::int64_t count)
{
    if (count >= 1000000)
        return QStringLiteral("%1 M").arg(double(count) / 1e6, 0, 'f', 2);
    if (count >= 1000)
        return QStringLiteral("%1 k").arg(double(count) / 1e3, 0, 'f', 1);
    return QString::number(count);
}

// One part of the summary with its spaces made non-breaking, so that the label wraps only
// between parts: a wrapped "relative error" with its value on the next line reads as two things.
// The parts hold no tags with attributes, so every space is text.
QString unbroken(const QString& part)
{
    QString text = part;
    return text.replace(QLatin1Char(' '), QStringLiteral("&nbsp;"));
}

} // namespace

ComponentEnergies componentEnergies(const lq::ModuleFactors& factors,
                                    const std::vector<double>& singularValues)
{
    ComponentEnergies energies;
    double total = 0;
    for (double s : singularValues)
        total += s * s;
    const Eigen::Index r = factors.B.cols();
    for (Eigen::Index i = 0; i < r; ++i) {
        const double component = double(factors.B.col(i).cast<double>().squaredNorm()) *
                                 double(factors.A.row(i).cast<double>().squaredNorm());
        energies.before.push_back(total > 0 ? component / total : 0.0);
    }
    for (double s : singularValues)
        energies.after.push_back(total > 0 ? s * s / total : 0.0);
    return energies;
}

std::vector<std::pair<int, QString>> layerGroups(const AdapterDocument& document)
{
    std::vector<std::pair<int, QString>> groups;
    int previous = -2;
    const std::vector<int>& order = document.displayOrder();
    for (std::size_t position = 0; position < order.size(); ++position) {
        const int layer = document.module(order[position]).layer;
        if (layer != previous)
            groups.emplace_back(int(position), layer >= 0 ? QStringLiteral("L%1").arg(layer)
                                                          : QStringLiteral("–"));
        previous = layer;
    }
    return groups;
}

QString moduleSummary(const AdapterDocument& document, int module, const lq::ModuleResult& result,
                      bool preview)
{
    const lq::LoraModule& m = document.module(module);
    const double weights = double(m.parameterCount());
    QStringList parts;
    parts << unbroken(viewTr("<b>%1</b>  %2 × %3, rank %4")
                          .arg(document.moduleLabel(module).toHtmlEscaped())
                          .arg(m.m)
                          .arg(m.n)
                          .arg(m.r))
          << unbroken(viewTr("<b>h = %1</b> of %2, high part %3 bits")
                          .arg(result.h)
                          .arg(m.r)
                          .arg(result.bitsHigh))
          << unbroken(viewTr("bits per weight: <b>%1 paper</b>, %2 true")
                          .arg(result.bitsPaper / weights, 0, 'f', 3)
                          .arg(result.bitsTrue / weights, 0, 'f', 3));
    const auto& packed = document.packedOrigin();
    const std::optional<double> recorded = preview ? std::nullopt : document.recordedError(module);
    if (recorded) {
        // Re-quantizing the decoded factors at the file's own choice loses about nothing: the
        // error that matters is the file's, against the original.
        parts << unbroken(viewTr("as packed: error <b>%1</b> against the original adapter")
                              .arg(*recorded, 0, 'f', 4));
    } else if (packed) {
        parts << unbroken(viewTr("relative error <b>%1</b> against the decoded factors")
                              .arg(result.relErr, 0, 'f', 4))
              << unbroken(viewTr("as packed: error %1 against the original adapter")
                              .arg(packed->relErr.at(std::size_t(module)), 0, 'f', 4));
    } else {
        parts << unbroken(viewTr("relative error <b>%1</b>").arg(result.relErr, 0, 'f', 4));
    }
    QString text = parts.join(QStringLiteral("&nbsp;&nbsp;|&nbsp; "));
    if (preview)
        text += QStringLiteral(" &nbsp;") +
                unbroken(document.settings().refine == lq::Refinement::None
                             ? viewTr("<i>(while dragging)</i>")
                             : viewTr("<i>(while dragging, without refinement)</i>"));
    return text;
}

QString adapterTotals(const AdapterDocument& document)
{
    const lq::Adapter& adapter = document.adapter();
    QString text = document.packedOrigin()
                       ? viewTr("Packed file, dequantized: %1 modules · %2 parameters · %3")
                       : viewTr("%1 modules · %2 parameters · %3");
    text = text.arg(document.moduleCount())
               .arg(parameters(adapter.parameterCount()))
               .arg(byteSize(double(adapter.storedBytes())));
    if (!document.hasResult())
        return text + viewTr(" → … (quantizing)");
    const lq::QuantResult& result = document.result();
    const double bytesAfter = result.avgBitsTrue * double(result.parameterCount) / 8.0;
    const QString error =
        !document.packedOrigin() ? viewTr("error %1 (energy-weighted)")
        : document.recordedTotal()
            ? viewTr("error %1 against the original adapter (recorded in the file)")
            : viewTr("error %1 (energy-weighted; the modules changed here against the decoded "
                     "factors)");
    text += viewTr(" → %1 · avg bits/weight: %2 paper, %3 true · %4")
                .arg(byteSize(bytesAfter))
                .arg(result.avgBitsPaper, 0, 'f', 3)
                .arg(result.avgBitsTrue, 0, 'f', 3)
                .arg(error.arg(document.shownTotal(), 0, 'f', 4));
    switch (document.resultState()) {
    case AdapterDocument::ResultState::Current:
        if (const auto& validation = document.validation())
            text +=
                validation->passed ? viewTr(" · kernels validated") : viewTr(" · kernels FAILED");
        break;
    case AdapterDocument::ResultState::Computing:
        text += viewTr(" (updating)");
        break;
    case AdapterDocument::ResultState::Stale:
        text += viewTr(" (out of date: Quantize to update)");
        break;
    }
    return text;
}

QString sweepMethodName(lq::SweepMethod method)
{
    switch (method) {
    case lq::SweepMethod::Rtn:
        return viewTr("RTN, whole adapter");
    case lq::SweepMethod::Binary:
        return viewTr("binary, whole adapter");
    case lq::SweepMethod::RandomSplit:
        return viewTr("random split (ablation)");
    case lq::SweepMethod::NormSplit:
        return viewTr("norm split (ablation)");
    case lq::SweepMethod::SvdSplit:
        return viewTr("LoRAQuant");
    case lq::SweepMethod::PaperRefine:
        return viewTr("LoRAQuant + paper refine");
    case lq::SweepMethod::BestRefine:
        return viewTr("LoRAQuant + best refine");
    case lq::SweepMethod::Budget:
        return viewTr("bit budget");
    case lq::SweepMethod::Truncate:
        return viewTr("rank truncation (fp16)");
    case lq::SweepMethod::Nf4:
        return viewTr("NF4 (QLoRA)");
    case lq::SweepMethod::Nf4Svd:
        return viewTr("NF4 on SVD factors");
    case lq::SweepMethod::Q8_0:
        return viewTr("q8_0 (llama.cpp)");
    case lq::SweepMethod::DeltaCome:
        return viewTr("Delta-CoMe 8/3/2-bit tiers");
    case lq::SweepMethod::Compeft:
        return viewTr("ComPEFT (sparse signs)");
    }
    return QString::fromStdString(lq::toString(method));
}

std::vector<widgets::ParetoPlot::Series> paretoSeries(const lq::SweepResult& sweep)
{
    std::map<lq::SweepMethod, std::vector<const lq::SweepRow*>> byMethod;
    for (const lq::SweepRow& row : sweep.rows)
        byMethod[row.method].push_back(&row);
    std::vector<widgets::ParetoPlot::Series> series;
    for (lq::SweepMethod method : sweep.settings.methods) {
        auto found = byMethod.find(method);
        if (found == byMethod.end())
            continue;
        std::vector<const lq::SweepRow*> rows = found->second;
        std::stable_sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
            return a->avgBitsTrue < b->avgBitsTrue ||
                   (a->avgBitsTrue == b->avgBitsTrue && a->relErrTotal < b->relErrTotal);
        });
        widgets::ParetoPlot::Series one;
        one.name = sweepMethodName(method);
        double best = std::numeric_limits<double>::infinity();
        for (const lq::SweepRow* row : rows) {
            if (!(row->relErrTotal < best))
                continue; // another setting of this method is smaller and at least as accurate
            best = row->relErrTotal;
            one.bits.push_back(row->avgBitsTrue);
            one.errors.push_back(row->relErrTotal);
            one.labels.append(QString::fromStdString(row->setting));
        }
        series.push_back(std::move(one));
    }
    return series;
}

} // namespace lq::gui
