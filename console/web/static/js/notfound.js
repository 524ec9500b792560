// notfound.js: the 404 page shows the header of a signed-in user.

import { session } from './api.js';
import { initChrome } from './ui.js';

if (session()) initChrome().catch(() => {});
