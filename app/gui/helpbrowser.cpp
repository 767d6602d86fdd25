#include "helpbrowser.h"

#include <QDialogButtonBox>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace lq::gui {

HelpBrowser::HelpBrowser(QWidget* parent) : QDialog(parent)
{
    setObjectName(QStringLiteral("svdHelp"));
    setWindowTitle(tr("How SVD concentrates information"));
    auto* layout = new QVBoxLayout(this);
    auto* browser = new QTextBrowser(this);
    browser->setOpenExternalLinks(true);
    browser->setSource(QUrl(QStringLiteral("qrc:/help/svd.html")));
    layout->addWidget(browser);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);
    layout->addWidget(buttons);
    resize(640, 720);
}

} // namespace lq::gui
