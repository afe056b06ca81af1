// Package report renders ComplianceReports for auditors: a table for the terminal, JSON and YAML
// for tools, CSV for spreadsheets, Markdown and a self-contained HTML page to hand over.
package report
