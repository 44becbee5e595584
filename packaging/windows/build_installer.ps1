# Windows: the PyInstaller bundle, its own checks, then the Inno Setup installer.
#
#   pwsh packaging\windows\build_installer.ps1     # -> packaging\dist\In10ntDesktop-<version>-setup.exe
#
# Needs Python 3.11+ (python on PATH, or $env:PYTHON) and Inno Setup 6 (installed with Chocolatey
# when ISCC.exe is not found). The release workflow's windows-latest job runs this.
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
function Invoke-Bundle([string[]]$Arguments, [hashtable]$Environment = @{}) {
    $out = New-TemporaryFile; $err = New-TemporaryFile
    $saved = @{}
    foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $Environment[$k]) }
    try {
        $p = Start-Process -FilePath $Exe -ArgumentList $Arguments -Wait -PassThru -NoNewWindow `
            -RedirectStandardOutput $out.FullName -RedirectStandardError $err.FullName
    } finally {
        foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
    }
    Get-Content $out.FullName, $err.FullName | Write-Host
    Remove-Item $out.FullName, $err.FullName
    if ($p.ExitCode -ne 0) { throw "in10nt-desktop.exe $($Arguments -join ' ') exited $($p.ExitCode)" }
}

Write-Host "== the bundle's own checks"
Invoke-Bundle @("--bundle-check")
# A fresh profile: the self-test starts the bundled engine (in10nt-desktop.exe engine serve) itself.
$TestHome = Join-Path ([IO.Path]::GetTempPath()) ("in10nt-selftest-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $TestHome | Out-Null
Invoke-Bundle @("--self-test") @{ LOCALAPPDATA = $TestHome; APPDATA = $TestHome }
Remove-Item -Recurse -Force $TestHome -ErrorAction SilentlyContinue

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

Write-Host "== install check: silent per-user install, Start menu entry, installed self-check, silent uninstall"
$InstallDir = Join-Path ([IO.Path]::GetTempPath()) ("in10nt-install-" + [guid]::NewGuid())
$p = Start-Process -FilePath $Setup -Wait -PassThru -ArgumentList @(
    "/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/CURRENTUSER", "/DIR=`"$InstallDir`"", "/LOG=`"$InstallDir.log`"")
if ($p.ExitCode -ne 0) { Get-Content "$InstallDir.log" | Write-Host; throw "setup exited $($p.ExitCode)" }
$Shortcut = Join-Path $env:APPDATA "Microsoft\Windows\Start Menu\Programs\In10nt Desktop.lnk"
if (-not (Test-Path $Shortcut)) { throw "no Start menu entry at $Shortcut" }
$Exe = Join-Path $InstallDir "in10nt-desktop.exe"
Invoke-Bundle @("--bundle-check")
$Uninstaller = Join-Path $InstallDir "unins000.exe"
if (-not (Test-Path $Uninstaller)) { throw "no uninstaller at $Uninstaller" }
$p = Start-Process -FilePath $Uninstaller -Wait -PassThru -ArgumentList @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART")
if ($p.ExitCode -ne 0) { throw "uninstaller exited $($p.ExitCode)" }
# the uninstaller finishes in a copy of itself that Start-Process does not wait for
for ($i = 0; $i -lt 60 -and (Test-Path (Join-Path $InstallDir "_internal")); $i++) { Start-Sleep -Milliseconds 500 }
if (Test-Path (Join-Path $InstallDir "_internal")) { throw "the uninstaller left $InstallDir\_internal" }
if (Test-Path $Shortcut) { throw "the uninstaller left the Start menu entry" }
Write-Host "install check ok"
