#include "settingspanel.h"

#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>

namespace lq::widgets {

namespace {

constexpr int kGroupSizes[] = {32, 64, 128, 256, 512};

} // namespace

SettingsPanel::SettingsPanel(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);

    auto* splitBox = new QGroupBox(tr("Split and bits"), this);
    auto* splitForm = new QFormLayout(splitBox);
    m_split = new QComboBox(splitBox);
    m_split->setObjectName(QStringLiteral("splitRule"));
    m_split->addItem(tr("Energy ratio (reference)"), int(lq::SplitRule::Ratio));
    m_split->addItem(tr("Energy ratio (count reaching ρ)"), int(lq::SplitRule::RatioCount));
    m_split->addItem(tr("Fixed h"), int(lq::SplitRule::Fixed));
    m_split->setToolTip(
        tr("Reference: h = the smallest 0-based k whose first k + 1 components reach ρ of the "
           "energy (at least 1), as the paper's code computes it.\nCount: the smallest number of "
           "components reaching ρ (one more than the reference's whenever that is 2 or more)."));
    splitForm->addRow(tr("Split &rule:"), m_split);
    m_rho = new QDoubleSpinBox(splitBox);
    m_rho->setObjectName(QStringLiteral("rho"));
    m_rho->setRange(0.05, 1.0);
    m_rho->setSingleStep(0.05);
    m_rho->setDecimals(3);
    m_rho->setToolTip(tr("Share of the update's energy Σ s_i² that the high-precision "
                         "components must hold"));
    splitForm->addRow(tr("Energy ρ:"), m_rho);
    m_fixedH = new QSpinBox(splitBox);
    m_fixedH->setObjectName(QStringLiteral("fixedH"));
    m_fixedH->setRange(0, 1024);
    m_fixedH->setToolTip(tr("High-precision components per module (clamped to the rank)"));
    splitForm->addRow(tr("Fixed &h:"), m_fixedH);
    m_bitsHigh = new QSpinBox(splitBox);
    m_bitsHigh->setObjectName(QStringLiteral("bitsHigh"));
    m_bitsHigh->setRange(1, 8);
    m_bitsHigh->setSuffix(tr(" bits"));
    m_bitsHigh->setToolTip(tr("Round-to-nearest bit width of the high-precision components; the "
                              "others always get 1 bit"));
    splitForm->addRow(tr("High &part:"), m_bitsHigh);
    auto* buttons = new QHBoxLayout;
    m_applySelected = new QPushButton(tr("Apply to &selected"), splitBox);
    m_applySelected->setObjectName(QStringLiteral("applySelected"));
    m_applyAll = new QPushButton(tr("Apply to &all"), splitBox);
    m_applyAll->setObjectName(QStringLiteral("applyAll"));
    m_applyAll->setToolTip(tr("Every module follows the rule again (dragged splits and the "
                              "budget's choices are replaced)"));
    buttons->addWidget(m_applySelected);
    buttons->addWidget(m_applyAll);
    splitForm->addRow(buttons);
    layout->addWidget(splitBox);

    auto* wideBox = new QGroupBox(tr("Whole adapter"), this);
    auto* wideForm = new QFormLayout(wideBox);
    m_groupSize = new QComboBox(wideBox);
    m_groupSize->setObjectName(QStringLiteral("groupSize"));
    for (int size : kGroupSizes)
        m_groupSize->addItem(tr("%1 values").arg(size), size);
    m_groupSize->setToolTip(tr("Values sharing one scale (and zero point); smaller groups cost "
                               "more metadata bits"));
    wideForm->addRow(tr("&Group size:"), m_groupSize);
    m_refine = new QComboBox(wideBox);
    m_refine->setObjectName(QStringLiteral("refinement"));
    m_refine->addItem(tr("None"), int(lq::Refinement::None));
    m_refine->addItem(tr("Paper (SGD on group ranges)"), int(lq::Refinement::Paper));
    m_refine->addItem(tr("Best (joint least squares, same bits)"), int(lq::Refinement::Best));
    m_refine->setToolTip(tr("The reference's 300-step refinement of each high-precision "
                            "component; runs in the background"));
    wideForm->addRow(tr("R&efinement:"), m_refine);
    layout->addWidget(wideBox);

    auto* budgetBox = new QGroupBox(tr("Bit budget"), this);
    auto* budgetLayout = new QVBoxLayout(budgetBox);
    auto* budgetHelp = new QLabel(tr("Sets every module's h and high bits (2-4) for the least "
                                     "total error within a target average."),
                                  budgetBox);
    budgetHelp->setWordWrap(true);
    budgetLayout->addWidget(budgetHelp);
    m_budget = new QSlider(Qt::Horizontal, budgetBox);
    m_budget->setObjectName(QStringLiteral("budgetSlider"));
    m_budget->setTracking(false);
    m_budget->setPageStep(10);
    budgetLayout->addWidget(m_budget);
    m_budgetLabel = new QLabel(budgetBox);
    m_budgetLabel->setObjectName(QStringLiteral("budgetLabel"));
    budgetLayout->addWidget(m_budgetLabel);
    m_budgetPrediction = new QLabel(budgetBox);
    m_budgetPrediction->setObjectName(QStringLiteral("budgetPrediction"));
    m_budgetPrediction->setWordWrap(true);
    m_budgetPrediction->hide();
    budgetLayout->addWidget(m_budgetPrediction);
    layout->addWidget(budgetBox);
    layout->addStretch(1);
    // Long item texts must not make the dock wide: the window has to fit 1280 pixels.
    for (QComboBox* combo : {m_split, m_groupSize, m_refine}) {
        combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        combo->setMinimumContentsLength(8);
    }

    connect(m_split, &QComboBox::currentIndexChanged, this, [this] { updateEnabled(); });
    connect(m_applySelected, &QPushButton::clicked, this, &SettingsPanel::applyToSelectedRequested);
    connect(m_applyAll, &QPushButton::clicked, this, &SettingsPanel::applyToAllRequested);
    const auto wideChanged = [this] {
        if (!m_showing)
            emit adapterWideChanged();
    };
    connect(m_groupSize, &QComboBox::currentIndexChanged, this, wideChanged);
    connect(m_refine, &QComboBox::currentIndexChanged, this, wideChanged);
    connect(m_budget, &QSlider::sliderMoved, this, [this](int value) {
        showBudgetLabel(value);
        if (!m_cancelling)
            emit budgetPreviewed(m_budgetMin + value * kBudgetStep);
    });
    // While the slider is down, Escape anywhere cancels: a filter on the application, not on the
    // slider, which need not have the keyboard focus.
    connect(m_budget, &QSlider::sliderPressed, this, [this] {
        m_dragStart = m_budget->value();
        qApp->installEventFilter(this);
    });
    connect(m_budget, &QSlider::sliderReleased, this, [this] { qApp->removeEventFilter(this); });
    connect(m_budget, &QSlider::valueChanged, this, [this](int value) {
        showBudgetLabel(value);
        if (!m_showing)
            emit budgetChosen(budget());
    });

    setSettings(lq::QuantSettings{});
    setBudgetRange(1.0, 2.0);
    setDocumentOpen(false);
}

void SettingsPanel::setSettings(const lq::QuantSettings& settings)
{
    m_showing = true;
    m_split->setCurrentIndex(m_split->findData(int(settings.split)));
    m_rho->setValue(settings.rho);
    m_fixedH->setValue(settings.fixedH);
    m_bitsHigh->setValue(settings.bitsHigh);
    int group = m_groupSize->findData(settings.groupSize);
    if (group < 0) {
        m_groupSize->addItem(tr("%1 values").arg(settings.groupSize), settings.groupSize);
        group = m_groupSize->count() - 1;
    }
    m_groupSize->setCurrentIndex(group);
    const int refine = m_refine->findData(int(settings.refine));
    m_refine->setCurrentIndex(refine >= 0 ? refine : 0);
    m_showing = false;
    updateEnabled();
}

lq::QuantSettings SettingsPanel::settings(const lq::QuantSettings& base) const
{
    lq::QuantSettings settings = base;
    settings.split = lq::SplitRule(m_split->currentData().toInt());
    settings.rho = m_rho->value();
    settings.fixedH = m_fixedH->value();
    settings.bitsHigh = m_bitsHigh->value();
    settings.groupSize = m_groupSize->currentData().toInt();
    settings.refine = lq::Refinement(m_refine->currentData().toInt());
    return settings;
}

void SettingsPanel::setBudgetRange(double minBits, double maxBits)
{
    m_showing = true;
    const double current = budget();
    m_budgetMin = minBits;
    m_budget->setRange(0, std::max(0, int(std::lround((maxBits - minBits) / kBudgetStep))));
    m_budget->setValue(int(std::lround((current - minBits) / kBudgetStep)));
    showBudgetLabel(m_budget->value());
    m_showing = false;
}

void SettingsPanel::setBudget(double bits)
{
    m_showing = true;
    m_budget->setValue(int(std::lround((bits - m_budgetMin) / kBudgetStep)));
    showBudgetLabel(m_budget->value());
    m_showing = false;
}

double SettingsPanel::budget() const
{
    return m_budgetMin + m_budget->value() * kBudgetStep;
}

void SettingsPanel::setBudgetPrediction(const QString& text)
{
    m_budgetPrediction->setText(text);
    m_budgetPrediction->setVisible(!text.isEmpty());
}

QString SettingsPanel::budgetPrediction() const
{
    return m_budgetPrediction->text();
}

void SettingsPanel::showBudgetLabel(int sliderValue)
{
    m_budgetLabel->setText(tr("Target: %1 bits per weight (paper count)")
                               .arg(m_budgetMin + sliderValue * kBudgetStep, 0, 'f', 2));
}

bool SettingsPanel::eventFilter(QObject* watched, QEvent* event)
{
    if (event->type() == QEvent::KeyPress && m_budget->isSliderDown() &&
        static_cast<QKeyEvent*>(event)->key() == Qt::Key_Escape) {
        cancelBudgetDrag();
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

void SettingsPanel::cancelBudgetDrag()
{
    m_cancelling = true;
    m_budget->setSliderPosition(m_dragStart);
    // End the mouse's drag as its release would, so that moving on with the button still held
    // does not pick the handle up again; the release then finds the value where it was.
    QMouseEvent release(QEvent::MouseButtonRelease, QPointF(), QPointF(), Qt::LeftButton,
                        Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(m_budget, &release);
    if (m_budget->isSliderDown())
        m_budget->setSliderDown(false);
    m_cancelling = false;
    showBudgetLabel(m_budget->value());
    setBudgetPrediction(QString());
}

void SettingsPanel::setSelectedModule(const QString& name)
{
    m_selected = name;
    m_applySelected->setToolTip(
        name.isEmpty() ? tr("Select a module or a layer in the tree first (Apply to all sets "
                            "every module)")
                       : tr("Set h and the bit width of %1 by the rule").arg(name));
    updateEnabled();
}

void SettingsPanel::setDocumentOpen(bool open)
{
    m_open = open;
    updateEnabled();
}

void SettingsPanel::updateEnabled()
{
    const auto rule = lq::SplitRule(m_split->currentData().toInt());
    for (QWidget* w : std::initializer_list<QWidget*>{m_split, m_bitsHigh, m_applyAll, m_groupSize,
                                                      m_refine, m_budget})
        w->setEnabled(m_open);
    m_rho->setEnabled(m_open && rule != lq::SplitRule::Fixed);
    m_fixedH->setEnabled(m_open && rule == lq::SplitRule::Fixed);
    m_applySelected->setEnabled(m_open && !m_selected.isEmpty());
}

} // namespace lq::widgets
