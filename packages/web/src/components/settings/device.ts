import type { TFunction } from 'i18next';
import type { Device } from '../../api';

/** "Firefox 133 on Windows", or as much of it as is known. */
export function deviceLabel(device: Device, t: TFunction): string {
  if (device.browser && device.os) {
    return t('sessions.deviceOn', { browser: device.browser, os: device.os });
  }
  return device.browser ?? device.os ?? t('sessions.unknownDevice');
}
