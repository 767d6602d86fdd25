#pragma once

#include <QDialog>

namespace lq::gui {

// Help > How SVD concentrates information: a short illustrated page (resources/help/svd.html)
// in a non-modal window, so that it can stay open beside the Learn view.
class HelpBrowser : public QDialog
{
    Q_OBJECT

public:
    explicit HelpBrowser(QWidget* parent = nullptr);
};

} // namespace lq::gui
