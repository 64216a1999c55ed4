#!/usr/bin/env bash
# Debian packages the assistant and its tests use: Tesseract OCR (Italian, French, English),
# Chromium (browser tests), LibreOffice Writer (the .docx skeletons as PDF), PostgreSQL (tests
# of the office database on a real server).
set -euo pipefail
packages=(tesseract-ocr tesseract-ocr-ita tesseract-ocr-fra chromium libreoffice-writer-nogui postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq >/dev/null
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "warning: cannot install ${missing[*]}: scanned PDFs will be reported as needing OCR" >&2
fi
