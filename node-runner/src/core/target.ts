// A backup target as a claim hands it to the runner (the SSH key decrypted for this event only).
export interface TargetSpec {
  id: number;
  name: string;
  sshHost: string;
  sshUser: string;
  sshPort: number;
  sshPrivateKey: string;      // PEM/OpenSSH text; never log it
  backupRoot: string;
  createBackupRoot: boolean;
  hostKey: string | null;     // pinned known_hosts line(s) ("host keytype base64"), null before the first validation
}
