// Where the API key lives in the browser: this tab's sessionStorage, nowhere else. It is gone when the
// tab closes, is not shared with other tabs, and never goes to local storage, a cookie or the URL bar.

const STORAGE_KEY = 'waqtor.apiKey';

export function loadKey() {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the user signs in on every load
  }
}

export function saveKey(key) {
  try {
    sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // storage disabled: the key stays in memory for this page only
  }
}

export function clearKey() {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}
