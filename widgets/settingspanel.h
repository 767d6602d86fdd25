#pragma once

#include "core/engine/quantsettings.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;

namespace lq::widgets {

// The quantization controls. Three groups:
// - Split and bits (split rule, rho, fixed h, bits of the high part): edited freely, then applied
//   to the selected module or to all modules with a button;
// - Adapter-wide (group size, refinement): take effect as soon as they change;
// - Bit budget: a slider for the target average bits per weight (paper count) that sets every
//   module's h and high bit width to meet it; it reports budgetChosen only when released (or
//   moved by keyboard), and budgetPreviewed while it is dragged, so that the window can show
//   what the budget would buy (setBudgetPrediction) without quantizing anything. Escape during
//   a drag puts it back and chooses nothing.
// The panel holds no state of its own beyond what it shows: setSettings() / setBudget() show a
// document's values without emitting anything.
class SettingsPanel : public QWidget
{
    Q_OBJECT

public:
    explicit SettingsPanel(QWidget* parent = nullptr);

    void setSettings(const lq::QuantSettings& settings);
    // The settings as shown: the given settings' overrides and other fields with the panel's
    // split rule, rho, fixed h, bits, group size and refinement.
    lq::QuantSettings settings(const lq::QuantSettings& base = {}) const;

    // The slider's range and value in bits per weight (paper count).
    void setBudgetRange(double minBits, double maxBits);
    void setBudget(double bits);
    double budget() const;
    // A line under the budget's target: what it buys (empty hides it).
    void setBudgetPrediction(const QString& text);
    QString budgetPrediction() const;

    // What "Apply to selected" applies to (a module, "layer 3 (7 modules)"); empty disables it.
    void setSelectedModule(const QString& name);
    // Enables everything (a document is open) or nothing.
    void setDocumentOpen(bool open);

    // Budget slider resolution: one step is this many bits per weight.
    static constexpr double kBudgetStep = 0.01;

signals:
    void applyToSelectedRequested();
    void applyToAllRequested();
    void adapterWideChanged();
    void budgetChosen(double bitsPerWeight);
    // While the slider is dragged, for each position.
    void budgetPreviewed(double bitsPerWeight);

protected:
    // Escape during a budget drag, wherever the keyboard focus is.
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void updateEnabled();
    void showBudgetLabel(int sliderValue);
    // Puts the slider back where the drag started and ends the drag: nothing is chosen.
    void cancelBudgetDrag();

    QComboBox* m_split = nullptr;
    QDoubleSpinBox* m_rho = nullptr;
    QSpinBox* m_fixedH = nullptr;
    QSpinBox* m_bitsHigh = nullptr;
    QPushButton* m_applySelected = nullptr;
    QPushButton* m_applyAll = nullptr;
    QComboBox* m_groupSize = nullptr;
    QComboBox* m_refine = nullptr;
    QSlider* m_budget = nullptr;
    QLabel* m_budgetLabel = nullptr;
    QLabel* m_budgetPrediction = nullptr;
    double m_budgetMin = 1.0;
    int m_dragStart = 0;       // the slider's value when the drag began
    bool m_cancelling = false; // while cancelBudgetDrag() moves the slider back
    bool m_open = false;
    bool m_showing = false; // true while setSettings()/setBudget() fill the controls
    QString m_selected;
};

} // namespace lq::widgets
