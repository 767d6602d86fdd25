#include "errorreporter.h"

#include <QMessageBox>

namespace lq::gui {

namespace {

void show(QWidget* parent, QMessageBox::Icon icon, const QString& title, const QString& message)
{
    auto* box = new QMessageBox(icon, title, message, QMessageBox::Ok, parent);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->open();
}

} // namespace

void MessageBoxReporter::error(QWidget* parent, const QString& title, const QString& message)
{
    show(parent, QMessageBox::Warning, title, message);
}

void MessageBoxReporter::information(QWidget* parent, const QString& title, const QString& message)
{
    show(parent, QMessageBox::Information, title, message);
}

} // namespace lq::gui
