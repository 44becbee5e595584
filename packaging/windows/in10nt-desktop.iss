; Inno Setup 6 script: In10ntDesktop-<version>-setup.exe from the PyInstaller bundle.
;
;   python packaging\build.py bundle                                   (-> packaging\dist\in10nt-desktop\)
;   iscc /DAppVersion=0.1.0 packaging\windows\in10nt-desktop.iss       (-> packaging\dist\In10ntDesktop-0.1.0-setup.exe)
;
; packaging\windows\build_installer.ps1 does both (the release workflow runs it).
; A per-user install without admin rights (%LOCALAPPDATA%\Programs\In10nt Desktop), with a Start menu
; entry and an uninstaller; an administrator may choose an all-users install in the dialog instead.
; The install folder goes on the PATH (the user's, or the machine's for an all-users install), so
; `in10nt` (in10nt.exe, the bundle's console twin) works in a new terminal; the uninstaller takes it off.

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
; Ask running copies (the app, and the engine it started as in10nt.exe) to close first.
CloseApplications=yes
; Tell running programs (Explorer, so new terminals) that PATH changed, after install and uninstall.
ChangesEnvironment=yes
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

[Code]
{ The install folder on PATH: HKCU\Environment for a per-user install, the machine's environment for
  an all-users one. Entries are compared without case and without a trailing backslash. }
const
  UserEnvironment = 'Environment';
  MachineEnvironment = 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment';

function EnvironmentRoot: Integer;
begin
  if IsAdminInstallMode then
    Result := HKEY_LOCAL_MACHINE
  else
    Result := HKEY_CURRENT_USER;
end;

function EnvironmentKey: String;
begin
  if IsAdminInstallMode then
    Result := MachineEnvironment
  else
    Result := UserEnvironment;
end;

function SameDir(A, B: String): Boolean;
begin
  Result := CompareText(RemoveBackslashUnlessRoot(Trim(A)), RemoveBackslashUnlessRoot(Trim(B))) = 0;
end;

{ Path without any entry equal to Dir; empty entries are dropped too. }
function PathWithout(Path, Dir: String): String;
var
  Rest, Entry: String;
  P: Integer;
begin
  Result := '';
  Rest := Path + ';';
  while Rest <> '' do
  begin
    P := Pos(';', Rest);
    Entry := Copy(Rest, 1, P - 1);
    Delete(Rest, 1, P);
    if (Trim(Entry) <> '') and not SameDir(Entry, Dir) then
    begin
      if Result <> '' then
        Result := Result + ';';
      Result := Result + Entry;
    end;
  end;
end;

procedure AddToPath(Dir: String);
var
  Path: String;
begin
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Path) then
    Path := '';
  if PathWithout(Path, Dir) <> PathWithout(Path, '') then
    exit; { already there }
  if (Path <> '') and (Copy(Path, Length(Path), 1) <> ';') then
    Path := Path + ';';
  if not RegWriteExpandStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Path + Dir) then
    Log('could not add ' + Dir + ' to PATH');
end;

procedure RemoveFromPath(Dir: String);
var
  Path, Kept: String;
begin
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Path) then
    exit;
  Kept := PathWithout(Path, Dir);
  if Kept = PathWithout(Path, '') then
    exit; { not there }
  if Kept = '' then
    RegDeleteValue(EnvironmentRoot, EnvironmentKey, 'Path')
  else
    RegWriteExpandStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Kept);
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then
    AddToPath(ExpandConstant('{app}'));
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
