; Inno Setup 6 script: In10ntDesktop-<version>-setup.exe from the PyInstaller bundle.
;
;   python packaging\build.py bundle                                   (-> packaging\dist\in10nt-desktop\)
;   iscc /DAppVersion=0.1.0 packaging\windows\in10nt-desktop.iss       (-> packaging\dist\In10ntDesktop-0.1.0-setup.exe)
;
; packaging\windows\build_installer.ps1 does both (the release workflow runs it).
; A per-user install without admin rights (%LOCALAPPDATA%\Programs\In10nt Desktop), with a Start menu
; entry and an uninstaller; an administrator may choose an all-users install in the dialog instead.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "In10nt Desktop"
#define AppExe "in10nt-desktop.exe"
#define BundleDir "..\dist\in10nt-desktop"

[Setup]
; AppId identifies the app for upgrades and the uninstaller: never change it.
AppId={{DD324E54-153D-415A-8B75-F5832A95F254}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=In10nt
VersionInfoVersion={#AppVersion}
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\dist
OutputBaseFilename=In10ntDesktop-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\in10nt-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
; Ask running copies (the app and the engine it started, both in10nt-desktop.exe) to close first.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: files a newer build no longer ships must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; The bundle only; the user's templates, engine data and settings (in %LOCALAPPDATA%) stay.
Type: filesandordirs; Name: "{app}\_internal"
Type: dirifempty; Name: "{app}"
