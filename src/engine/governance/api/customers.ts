import {
  createCustomer,
  customerInfo,
  deleteCustomers,
  listCustomers,
  setCustomersBlocked,
  updateCustomer,
} from '../entities/customers.js';
import type { Governance } from '../governance.js';
import type { ManagementRoute } from '../types.js';

type Route = ManagementRoute<Governance>;

const routes: [Route['method'], string, Route['access'], Route['handle']][] = [
  ['POST', 'new', 'admin', (g, c) => createCustomer(g, c.principal, c.body)],
  ['POST', 'update', 'admin', (g, c) => updateCustomer(g, c.principal, c.body)],
  ['POST', 'delete', 'admin', (g, c) => deleteCustomers(g, c.body)],
  ['GET', 'info', 'admin_read', (g, c) => customerInfo(g, c.query)],
  ['GET', 'list', 'admin_read', (g) => listCustomers(g)],
  ['POST', 'block', 'admin', (g, c) => setCustomersBlocked(g, c.body, true)],
  ['POST', 'unblock', 'admin', (g, c) => setCustomersBlocked(g, c.body, false)],
];

/** /customer/* and their /end_user/* aliases (LiteLLM's old names): proxy admins write, viewers read. */
export const CUSTOMER_ROUTES: Route[] = ['/customer', '/end_user'].flatMap((base) =>
  routes.map(([method, name, access, handle]) => ({ method, path: `${base}/${name}`, access, handle })),
);
