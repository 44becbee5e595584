# Windows: the PyInstaller bundle, its own checks, then the Inno Setup installer.
#
#   pwsh packaging\windows\build_installer.ps1     # -> packaging\dist\In10ntDesktop-<version>-setup.exe
#
# Needs Python 3.11+ (python on PATH, or $env:PYTHON) and Inno Setup 6 (installed with Chocolatey
# when ISCC.exe is not found). The CI workflow's windows-latest job runs this (the release reuses it).
#
# Checks, in order: the bundle's --bundle-check and --self-test (which starts the bundled engine
# through the console twin in10nt.exe); the installer installed silently per user; the Start menu
# entry; the installed app's --bundle-check and --self-test; `in10nt --version` from a new console
# that finds in10nt.exe through the user's PATH; the silent uninstall, which must remove the
# bundle, the Start menu entry and the PATH entry.
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root
$Python = if ($env:PYTHON) { $env:PYTHON } else { "python" }
$Version = (Select-String -Path "in10nt_desktop\__init__.py" -Pattern '^__version__ = "(.+)"').Matches[0].Groups[1].Value
$Exe = Join-Path $Root "packaging\dist\in10nt-desktop\in10nt-desktop.exe"

Write-Host "== bundle (python packaging\build.py bundle)"
& $Python packaging\build.py bundle
if ($LASTEXITCODE -ne 0) { throw "packaging\build.py bundle failed ($LASTEXITCODE)" }
if (-not (Test-Path $Exe)) { throw "no $Exe" }

# in10nt-desktop.exe is a GUI executable: PowerShell does not wait for it or show its output unless
# it is started with redirected standard handles.
function Invoke-Checked([string]$Program, [string[]]$Arguments, [hashtable]$Environment = @{}) {
    $out = New-TemporaryFile; $err = New-TemporaryFile
    $saved = @{}
    foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $Environment[$k]) }
    try {
        $p = Start-Process -FilePath $Program -ArgumentList $Arguments -Wait -PassThru -NoNewWindow `
            -RedirectStandardOutput $out.FullName -RedirectStandardError $err.FullName
    } finally {
        foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
    }
    $text = (Get-Content $out.FullName, $err.FullName) -join "`n"
    Write-Host $text
    Remove-Item $out.FullName, $err.FullName
    if ($p.ExitCode -ne 0) { throw "$Program $($Arguments -join ' ') exited $($p.ExitCode)" }
    return $text
}

# A fresh engine data dir: the self-test finds no engine there and starts the bundled one itself.
function Test-SelfTest([string]$Program) {
    $data = Join-Path ([IO.Path]::GetTempPath()) ("in10nt-selftest-" + [guid]::NewGuid())
    New-Item -ItemType Directory -Path $data | Out-Null
    try {
        $text = Invoke-Checked $Program @("--self-test") @{ IN10NT_DATA_DIR = $data }
        if ($text -notmatch "self-test ok") { throw "no 'self-test ok' from $Program" }
    } finally {
        Remove-Item -Recurse -Force $data -ErrorAction SilentlyContinue
    }
}

Write-Host "== the bundle's own checks"
$Twin = Join-Path (Split-Path $Exe) "in10nt.exe"
if (-not (Test-Path $Twin)) { throw "no console twin $Twin" }
Invoke-Checked $Exe @("--bundle-check") | Out-Null
Test-SelfTest $Exe
$v = Invoke-Checked $Twin @("--version")
if ($v -notmatch [regex]::Escape("in10nt $Version")) { throw "in10nt.exe --version printed '$v'" }

Write-Host "== Inno Setup"
$Iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $Iscc) {
    $Iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"
}
if (-not (Test-Path $Iscc)) {
    choco install innosetup --no-progress -y | Out-Host
    $Iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"
}
& $Iscc "/DAppVersion=$Version" "packaging\windows\in10nt-desktop.iss"
if ($LASTEXITCODE -ne 0) { throw "ISCC failed ($LASTEXITCODE)" }
$Setup = Join-Path $Root "packaging\dist\In10ntDesktop-$Version-setup.exe"
if (-not (Test-Path $Setup)) { throw "no $Setup" }

$BundleMB = [math]::Round(((Get-ChildItem -Recurse -File "packaging\dist\in10nt-desktop" | Measure-Object Length -Sum).Sum / 1MB), 1)
$SetupMB = [math]::Round(((Get-Item $Setup).Length / 1MB), 1)
Write-Host "bundle  packaging\dist\in10nt-desktop: $BundleMB MB"
Write-Host "setup   $Setup`: $SetupMB MB"

function Get-UserPath { [Environment]::GetEnvironmentVariable("Path", "User") }
function Test-OnPath([string]$Dir) {
    $entries = (Get-UserPath) -split ";" | ForEach-Object { $_.TrimEnd("\") }
    return $entries -contains $Dir.TrimEnd("\")
}

Write-Host "== install check: silent per-user install, Start menu entry, PATH, installed self-test, console CLI"
$InstallDir = Join-Path ([IO.Path]::GetTempPath()) ("in10nt-install-" + [guid]::NewGuid())
$p = Start-Process -FilePath $Setup -Wait -PassThru -ArgumentList @(
    "/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/CURRENTUSER", "/DIR=`"$InstallDir`"", "/LOG=`"$InstallDir.log`"")
if ($p.ExitCode -ne 0) { Get-Content "$InstallDir.log" | Write-Host; throw "setup exited $($p.ExitCode)" }
$Shortcut = Join-Path $env:APPDATA "Microsoft\Windows\Start Menu\Programs\In10nt Desktop.lnk"
if (-not (Test-Path $Shortcut)) { throw "no Start menu entry at $Shortcut" }
if (-not (Test-OnPath $InstallDir)) { throw "the installer did not put $InstallDir on the user PATH: $(Get-UserPath)" }
$Installed = Join-Path $InstallDir "in10nt-desktop.exe"
Invoke-Checked $Installed @("--bundle-check") | Out-Null
Test-SelfTest $Installed
# A new console, as a user opens one after installing: PATH from the registry, not this session's.
$ConsolePath = (Get-UserPath) + ";" + [Environment]::GetEnvironmentVariable("Path", "Machine")
$v = Invoke-Checked "cmd.exe" @("/d", "/c", "in10nt --version") @{ Path = $ConsolePath }
if ($v -notmatch [regex]::Escape("in10nt $Version")) { throw "'in10nt --version' in a new console printed '$v'" }
$where = Invoke-Checked "cmd.exe" @("/d", "/c", "where in10nt") @{ Path = $ConsolePath }
if ($where -notmatch [regex]::Escape((Join-Path $InstallDir "in10nt.exe"))) { throw "in10nt resolved to '$where'" }

Write-Host "== uninstall check: silent uninstall removes the bundle, the Start menu entry and the PATH entry"
$Uninstaller = Join-Path $InstallDir "unins000.exe"
if (-not (Test-Path $Uninstaller)) { throw "no uninstaller at $Uninstaller" }
$p = Start-Process -FilePath $Uninstaller -Wait -PassThru -ArgumentList @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART")
if ($p.ExitCode -ne 0) { throw "uninstaller exited $($p.ExitCode)" }
# the uninstaller finishes in a copy of itself that Start-Process does not wait for
for ($i = 0; $i -lt 60 -and (Test-Path (Join-Path $InstallDir "_internal")); $i++) { Start-Sleep -Milliseconds 500 }
if (Test-Path (Join-Path $InstallDir "_internal")) { throw "the uninstaller left $InstallDir\_internal" }
if (Test-Path (Join-Path $InstallDir "in10nt.exe")) { throw "the uninstaller left in10nt.exe" }
if (Test-Path $Shortcut) { throw "the uninstaller left the Start menu entry" }
for ($i = 0; $i -lt 20 -and (Test-OnPath $InstallDir); $i++) { Start-Sleep -Milliseconds 500 }
if (Test-OnPath $InstallDir) { throw "the uninstaller left $InstallDir on the user PATH" }
Write-Host "install check ok"
