// A list with column headers, sortable by a click on a header. The sort is in the URL
// (`?sort=-last_seen`), so a shared link shows the same order.
import { ReactNode } from 'react';
import { setQuery, useLocation } from './router';

export interface Column<T> {
  key: string;
  label: string;
  render: (row: T) => ReactNode;
  /** The value rows are ordered by; a column without one is not sortable. */
  sortBy?: (row: T) => number | string;
  className?: string;
}

export function SortableTable<T>(props: {
  label: string;
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string | number;
  /** `key` ascending, `-key` descending. */
  defaultSort: string;
}) {
  const url = useLocation();
  const sort = url.searchParams.get('sort') ?? props.defaultSort;
  const desc = sort.startsWith('-');
  const column = props.columns.find((c) => c.key === sort.replace(/^-/, '') && c.sortBy);
  const rows = column?.sortBy
    ? [...props.rows].sort((a, b) => {
        const [x, y] = [column.sortBy!(a), column.sortBy!(b)];
        const order = x < y ? -1 : x > y ? 1 : 0;
        return desc ? -order : order;
      })
    : props.rows;
  return (
    <table className="table" aria-label={props.label}>
      <thead>
        <tr>
          {props.columns.map((c) => {
            const on = column?.key === c.key;
            return c.sortBy ? (
              <th
                key={c.key}
                className={`sortable ${c.className ?? ''}`}
                aria-sort={on ? (desc ? 'descending' : 'ascending') : 'none'}
                onClick={() => setQuery({ sort: on && desc ? c.key : `-${c.key}` })}
              >
                {c.label} {on ? (desc ? '▼' : '▲') : ''}
              </th>
            ) : (
              <th key={c.key} className={c.className}>
                {c.label}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={props.rowKey(r)}>
            {props.columns.map((c) => (
              <td key={c.key} className={c.className}>
                {c.render(r)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
